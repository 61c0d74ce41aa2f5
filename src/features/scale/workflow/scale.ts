/**
 * Scale out/in of one role. Joining members are installed, configured and started with the
 * new membership; when the role's configurations list their peers (`membership.peers`), the
 * peers are re-rendered and rolled (the leader last) so every member ends listing exactly
 * the members. Leaving members run the definition's decommission steps, stop, lose their
 * files and rows.
 *
 * For a voting role (`membership.quorum`, e.g. a ZooKeeper ensemble with a static config)
 * the order keeps a majority serving and never lets two majorities exist: joining members
 * start one by one (each following the running leader before the next), then the old
 * members roll onto the new list. Before a scale-in, when the leader itself is leaving, the
 * other leaving members stop and the leader restarts, so the remaining members elect one of
 * their own; then the remaining members roll onto the smaller list (the leaving ones, fewer
 * than a majority of the old list, can no longer form one) and only then the leaving stop.
 */
import { patched } from '@temporalio/workflow';
import { createEngine, type Engine } from '../../operations/workflow/engine.js';
import { runOperation } from '../../operations/workflow/run-operation.js';
import {
  db,
  host,
  HOST_CONCURRENCY,
  initAndStart,
  leaderHandoff,
  onInstance,
  removeFromHosts,
  rollingBatches,
} from '../../services/workflow/steps.js';
import type { InstanceRef } from '../../services/types.js';
import type { ScalePlan, ScaleServiceInput } from '../types.js';

/** Decommission steps, then stop, for each leaving member (one at a time in a voting role). */
async function decommission(
  engine: Engine,
  input: ScaleServiceInput,
  p: ScalePlan,
  phase: string,
  members: InstanceRef[],
  skipped: Set<string>,
) {
  await engine.forEach(members, p.membership.quorum ? 1 : HOST_CONCURRENCY, async (i) => {
    for (const step of p.decommission) {
      const ok = await engine.step({ host: i.host, role: i.role, phase, step: `decommission: ${step.name}` }, () =>
        host.decommissionInstance({ operationId: input.operationId, phase, instanceId: i.id, step: step.index }),
      );
      if (!ok) return void skipped.add(i.host);
    }
    if (!(await onInstance(engine, input.operationId, phase, i, ['stop']))) skipped.add(i.host);
  });
}

export async function scaleServiceWorkflow(input: ScaleServiceInput) {
  const { operationId, serviceId } = input;
  const engine = createEngine(operationId, {
    canRollback: false,
    noRollbackReason:
      'a scale is undone by the opposite scale (remove the hosts added, add back the hosts removed); use retry, skip or abort',
  });
  return runOperation(operationId, async () => {
    const p = await db.scalePlan(input);
    const rolls = p.membership.peers ? (p.joining.length ? p.peers.length : 0) + (p.leaving.length ? p.survivors.length : 0) : 0;
    await engine.plan(
      p.installHosts.length + p.joining.length * 3 + rolls * 4 + p.leaving.length * (p.decommission.length + 1) + p.removeHosts.length,
    );
    const skipped = new Set<string>();
    const failed: string[] = [];
    const roll = (instances: InstanceRef[], phase: string) =>
      rollingBatches(engine, {
        serviceId,
        instances,
        policy: p.rolling,
        leaderRole: p.leaderRole,
        phase: (n) => `${phase} ${n}`,
        failed,
        skipped,
        run: (i, batchPhase, tolerate) =>
          onInstance(engine, operationId, batchPhase, i, ['configure', 'stop', 'start', 'health'], { tolerate }),
        handoff: leaderHandoff(engine, operationId, p),
      });

    if (p.joining.length > 0) {
      await engine.phase('install');
      await engine.forEach(p.installHosts, HOST_CONCURRENCY, async (h) => {
        const ok = await engine.step({ host: h.hostname, phase: 'install', step: 'install' }, () =>
          host.installServicePackage({ operationId, phase: 'install', serviceId, hostId: h.hostId }),
        );
        if (!ok) skipped.add(h.hostname);
      });
      await engine.phase('configure');
      await engine.forEach(p.joining, HOST_CONCURRENCY, async (i) => {
        if (!skipped.has(i.host) && !(await onInstance(engine, operationId, 'configure', i, ['configure']))) skipped.add(i.host);
      });
      await engine.phase('start joining members');
      await engine.forEach(p.joining, p.membership.quorum ? 1 : HOST_CONCURRENCY, async (i) => {
        if (!skipped.has(i.host) && !(await initAndStart(engine, operationId, 'start', i))) skipped.add(i.host);
      });
      if (p.membership.peers && p.peers.length > 0) await roll(p.peers, 'join: roll peers batch');
    }

    if (p.leaving.length > 0) {
      await db.markLeaving(p.leaving.map((i) => i.id));
      let leaving = p.leaving;
      if (p.membership.quorum && p.leaderRole) {
        const leaderId = await db.findLeader(serviceId, p.leaderRole);
        const leader = leaving.find((i) => i.id === leaderId);
        if (leader) {
          await engine.phase('move the leadership off the leaving members');
          await decommission(
            engine,
            input,
            p,
            'decommission',
            leaving.filter((i) => i !== leader),
            skipped,
          );
          await onInstance(engine, operationId, 'move leadership', leader, ['stop', 'start', 'health']);
          leaving = [leader];
        }
      }
      if (p.membership.peers && p.survivors.length > 0) await roll(p.survivors, 'leave: roll peers batch');
      await engine.phase('decommission');
      await decommission(engine, input, p, 'decommission', leaving, skipped);
      await engine.phase('remove files');
      await removeFromHosts(engine, operationId, serviceId, 'remove', p.removeHosts);
      await db.forgetInstances(p.leaving.map((i) => i.id));
    }
    // Services reading this one's members render them anew in operations of their own.
    const followUps = patched('refresh-dependents') ? await db.startDependentRefreshes({ operationId, serviceId }) : [];
    return {
      role: input.role,
      followUps,
      added: p.joining.map((i) => i.host),
      removed: p.leaving.map((i) => i.host),
      members: p.survivors.map((i) => i.host),
      skippedHosts: [...skipped].sort(),
    };
  });
}

/**
 * Service lifecycle operations: deploy, start/stop/restart (optionally rolling) and remove.
 * Every host touch is a step of the engine, so each can be retried, skipped, aborted or
 * rolled back by the operator, and every step is idempotent on the host.
 */
import { CancellationScope, patched } from '@temporalio/workflow';
import { createEngine, RollbackRequested } from '../../operations/workflow/engine.js';
import { runOperation } from '../../operations/workflow/run-operation.js';
import {
  byStartOrder,
  db,
  host,
  HOST_CONCURRENCY,
  initAndStart,
  leaderHandoff,
  onInstance,
  removeFromHosts,
  rollingBatches,
  startWaves,
  stopAll,
  type InstanceStep,
} from './steps.js';
import type { ServiceActionInput, ServiceOperationInput, ServicePlan } from '../types.js';

export async function deployServiceWorkflow(input: ServiceOperationInput) {
  const { operationId, serviceId } = input;
  const engine = createEngine(operationId, { canRollback: true });
  let plan: ServicePlan | undefined;
  return runOperation(
    operationId,
    async () => {
      plan = await db.servicePlan(serviceId);
      const p = plan;
      await engine.plan(p.hosts.length + p.instances.reduce((n, i) => n + 3 + (i.init?.length ?? 0), 0));
      const skipped = new Set<string>();
      const live = () => p.instances.filter((i) => !skipped.has(i.host));
      try {
        await engine.phase('install');
        await engine.forEach(p.hosts, HOST_CONCURRENCY, async (h) => {
          const ok = await engine.step({ host: h.hostname, phase: 'install', step: 'install' }, () =>
            host.installServicePackage({ operationId, phase: 'install', serviceId, hostId: h.hostId }),
          );
          if (!ok) skipped.add(h.hostname);
        });
        await engine.phase('configure');
        await engine.forEach(live(), HOST_CONCURRENCY, async (i) => {
          const ok = await engine.step({ host: i.host, role: i.role, phase: 'configure', step: 'configure' }, () =>
            host.configureInstance({ operationId, phase: 'configure', instanceId: i.id }),
          );
          if (!ok) skipped.add(i.host);
        });
        // Definition order: a start-order group is initialised, running and healthy before the next starts.
        for (const group of byStartOrder(live())) {
          await engine.phase(`start ${[...new Set(group.map((i) => i.role))].join(', ')}`);
          for (const wave of startWaves(group)) {
            await engine.forEach(wave, HOST_CONCURRENCY, async (i) => {
              if (!(await initAndStart(engine, operationId, 'start', i))) skipped.add(i.host);
            });
          }
        }
      } catch (err) {
        // A rollback removes the service; anything else (abort, cancel) leaves it FAILED, recorded even when cancelled.
        if (!(err instanceof RollbackRequested)) await CancellationScope.nonCancellable(() => db.setServiceStatus(serviceId, 'FAILED'));
        throw err;
      }
      await db.markServiceDeployed(serviceId);
      // Services that read this one when it is there (optional dependencies) render it in operations of their own.
      const followUps = patched('refresh-dependents') ? await db.startDependentRefreshes({ operationId, serviceId }) : [];
      return { hosts: p.hosts.length, instances: live().length, skippedHosts: [...skipped].sort(), followUps };
    },
    // Undo in reverse: stop what may run, remove the files, forget the service.
    async () => {
      engine.allowRollback(false, 'the operation is already rolling back');
      await engine.phase('rollback');
      const p = plan ?? (await db.servicePlan(serviceId));
      const skipped = new Set<string>();
      await stopAll(engine, operationId, 'rollback', p.instances, skipped);
      await removeFromHosts(engine, operationId, serviceId, 'rollback', p.hosts);
      await db.deleteServiceRows(serviceId);
      return { removedFrom: p.hosts.map((h) => h.hostname), skippedHosts: [...skipped].sort() };
    },
  );
}

export async function serviceActionWorkflow(input: ServiceActionInput) {
  const { operationId, serviceId, action } = input;
  const engine = createEngine(operationId, {
    canRollback: false,
    noRollbackReason: `a ${action} changes no files or versions, so there is nothing to undo; use retry, skip or abort`,
  });
  return runOperation(operationId, async () => {
    const plan = await db.actionPlan({ serviceId, action, roles: input.roles, hosts: input.hosts });
    const steps: InstanceStep[] = action === 'stop' ? ['stop'] : action === 'start' ? ['start', 'health'] : ['stop', 'start', 'health'];
    await engine.plan(plan.instances.length * steps.length);
    const skipped = new Set<string>();
    const failed: string[] = [];

    if (!input.rolling) {
      if (action !== 'start') await stopAll(engine, operationId, action, plan.instances, skipped);
      if (action !== 'stop') {
        for (const group of byStartOrder(plan.instances.filter((i) => !skipped.has(i.host)))) {
          await engine.forEach(group, HOST_CONCURRENCY, async (i) => {
            if (!(await onInstance(engine, operationId, action, i, ['start', 'health']))) skipped.add(i.host);
          });
        }
      }
      return { action, instances: plan.instances.length, skippedHosts: [...skipped].sort(), failed };
    }

    const { batches: total } = await rollingBatches(engine, {
      serviceId,
      instances: plan.instances,
      policy: { ...plan.rolling, ...input.rolling },
      leaderRole: plan.leaderRole,
      phase: (n) => `${action} batch ${n}`,
      failed,
      skipped,
      run: (i, phase, tolerate) => onInstance(engine, operationId, phase, i, steps, { tolerate }),
      handoff: leaderHandoff(engine, operationId, plan),
    });
    return { action, instances: plan.instances.length, batches: total, skippedHosts: [...skipped].sort(), failed };
  });
}

export async function removeServiceWorkflow(input: ServiceOperationInput) {
  const { operationId, serviceId } = input;
  const engine = createEngine(operationId, {
    canRollback: false,
    noRollbackReason: 'a removal cannot be undone; deploy the service again',
  });
  return runOperation(operationId, async () => {
    await db.setServiceStatus(serviceId, 'REMOVING');
    const plan = await db.servicePlan(serviceId);
    await engine.plan(plan.instances.length + plan.hosts.length);
    const skipped = new Set<string>();
    await engine.phase('stop');
    await stopAll(engine, operationId, 'stop', plan.instances, skipped);
    await engine.phase('remove files');
    await removeFromHosts(engine, operationId, serviceId, 'remove', plan.hosts);
    await db.deleteServiceRows(serviceId);
    return { removedFrom: plan.hosts.map((h) => h.hostname), skippedHosts: [...skipped].sort() };
  });
}

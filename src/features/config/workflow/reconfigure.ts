/**
 * Reconfigure: brings every instance to the service's config version. Instances whose change
 * needs no restart get their files at once (and a reload where the definition has one); the
 * others are rolled in the definition's order, leader last, each written, restarted and health
 * gated before the next batch. Rollback re-applies the previous version the same way.
 */
import { createEngine } from '../../operations/workflow/engine.js';
import { runOperation } from '../../operations/workflow/run-operation.js';
import { db, host, HOST_CONCURRENCY, leaderHandoff, onInstance, rollingBatches } from '../../services/workflow/steps.js';
import type { InstanceRef } from '../../services/types.js';
import type { ReconfigureInput, ReconfigurePlan } from '../types.js';

type Planned = ReconfigurePlan['instances'][number];

export async function reconfigureWorkflow(input: ReconfigureInput) {
  const { operationId, serviceId } = input;
  const engine = createEngine(operationId, { canRollback: true });
  // Instance id → the version its files may now have, for a rollback to undo.
  const touched: Record<string, number> = {};

  async function apply(plan: ReconfigurePlan, label: string) {
    const quiet = plan.instances.filter((i) => i.action !== 'restart');
    const rolled = plan.instances.filter((i) => i.action === 'restart');
    await engine.plan(quiet.length + quiet.filter((i) => i.action === 'reload').length + rolled.length * 4);
    const skipped = new Set<string>();
    const failed: string[] = [];
    const done: Planned[] = [];
    const configure = (i: InstanceRef, phase: string, opts?: { tolerate: () => boolean }) => {
      touched[i.id] = plan.version;
      return engine.step(
        { host: i.host, role: i.role, phase, step: 'configure' },
        () => host.writeInstanceConfig({ operationId, phase, instanceId: i.id }),
        opts,
      );
    };
    const finished = async (i: Planned) => {
      await db.recordInstanceConfig(i.id, plan.version);
      done.push(i);
    };

    await engine.phase(`${label}: files`);
    await engine.forEach(quiet, HOST_CONCURRENCY, async (i) => {
      const ok =
        (await configure(i, label)) &&
        (i.action !== 'reload' ||
          (await engine.step({ host: i.host, role: i.role, phase: label, step: 'reload' }, () =>
            host.reloadInstance({ operationId, phase: label, instanceId: i.id }),
          )));
      if (ok) await finished(i);
      else skipped.add(i.host);
    });
    const { batches } = await rollingBatches(engine, {
      serviceId,
      instances: rolled,
      policy: plan.rolling,
      leaderRole: plan.leaderRole,
      phase: (n) => `${label} batch ${n}`,
      failed,
      skipped,
      handoff: leaderHandoff(engine, operationId, plan),
      run: async (i, phase, tolerate) => {
        const ok =
          (await configure(i, phase, { tolerate })) &&
          (await onInstance(engine, operationId, phase, i, ['stop', 'start', 'health'], { tolerate }));
        if (ok) await finished(rolled.find((r) => r.id === i.id)!);
        return ok;
      },
    });
    const names = (action: Planned['action']) => done.filter((i) => i.action === action).map((i) => `${i.role}@${i.host}`);
    const changed = plan.instances.filter((i) => i.files.length > 0);
    return {
      configVersion: plan.version,
      message:
        changed.length === 0
          ? 'nothing changed: no instance has a file that differs, nothing was restarted'
          : `${changed.length} of ${plan.instances.length} instances have changed files; ${names('restart').length} restarted, ${names('reload').length} reloaded`,
      files: Object.fromEntries(changed.map((i) => [`${i.role}@${i.host}`, i.files])),
      restarted: names('restart'),
      reloaded: names('reload'),
      batches,
      skippedHosts: [...skipped].sort(),
      failed,
    };
  }

  return runOperation(
    operationId,
    async () => apply(await db.reconfigurePlan({ serviceId }), 'reconfigure'),
    // The previous version again, for every instance this operation may have changed.
    async () => {
      engine.allowRollback(false, 'the operation is already rolling back');
      await engine.phase('rollback');
      await db.setServiceConfigVersion(serviceId, input.fromVersion);
      return apply(await db.reconfigurePlan({ serviceId, running: { ...touched } }), 'rollback');
    },
  );
}

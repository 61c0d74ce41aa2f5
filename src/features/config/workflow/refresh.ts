/**
 * Refresh: a service's files rendered again against what it reads now (a dependency's members,
 * e.g. the ZooKeeper quorum after a scale) and applied where they differ from the host's, the
 * running instances rolled in the definition's order, leader last, each health gated.
 */
import { createEngine } from '../../operations/workflow/engine.js';
import { runOperation } from '../../operations/workflow/run-operation.js';
import { db, HOST_CONCURRENCY, leaderHandoff, onInstance, rollingBatches } from '../../services/workflow/steps.js';
import type { RefreshInput } from '../types.js';

export async function refreshServiceWorkflow(input: RefreshInput) {
  const { operationId, serviceId } = input;
  const engine = createEngine(operationId, {
    canRollback: false,
    noRollbackReason: 'a refresh writes what the service should read now; the old files named members that changed',
  });
  return runOperation(operationId, async () => {
    const plan = await db.refreshPlan(serviceId);
    const quiet = plan.instances.filter((i) => !i.restart);
    const rolled = plan.instances.filter((i) => i.restart);
    await engine.plan(quiet.length + rolled.length * 4);
    const skipped = new Set<string>();
    const failed: string[] = [];
    await engine.phase('refresh: files of stopped instances');
    await engine.forEach(quiet, HOST_CONCURRENCY, async (i) => {
      if (!(await onInstance(engine, operationId, 'refresh', i, ['configure']))) skipped.add(i.host);
    });
    const { batches } = await rollingBatches(engine, {
      serviceId,
      instances: rolled,
      policy: plan.rolling,
      leaderRole: plan.leaderRole,
      phase: (n) => `refresh batch ${n}`,
      failed,
      skipped,
      run: (i, phase, tolerate) => onInstance(engine, operationId, phase, i, ['configure', 'stop', 'start', 'health'], { tolerate }),
      handoff: leaderHandoff(engine, operationId, plan),
    });
    return {
      cause: input.cause ?? null,
      message:
        plan.instances.length === 0
          ? 'nothing to do: every instance has the files it should have'
          : `${plan.instances.length} of ${plan.instances.length + plan.unchanged} instances had files that differ; ${rolled.length} restarted`,
      files: Object.fromEntries(plan.instances.map((i) => [`${i.role}@${i.host}`, i.files])),
      restarted: rolled.map((i) => `${i.role}@${i.host}`),
      batches,
      skippedHosts: [...skipped].sort(),
      failed,
    };
  });
}

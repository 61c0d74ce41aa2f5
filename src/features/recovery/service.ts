/**
 * Auto-recovery, run by each poll after its status checks: every instance that should run but
 * was seen down gets a `service.recover` operation (restart and health check through the step
 * engine), started through the one operation start path, so it takes the service's lock and
 * shows in the operations list like any other. Per instance at most `maxPerHour` recoveries in
 * any hour, counted from those operations; past that the instance is left down and its
 * `sophon_recovery_budget_spent` series is set, which the built-in critical rule alerts on.
 */
import type { Client } from '@temporalio/client';
import type { Config } from '../../platform/settings.js';
import { clustersRepo } from '../clusters/repo.js';
import { isConstraintConflict, type Pool } from '../../platform/db/pool.js';
import { conflict, SophonError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { createOperationsService } from '../operations/service.js';
import { recoveryWorkflowIds, type RecoveryCounts } from './types.js';
import { RECOVER_TYPE, recoveryRepo, type DownInstance, type RecoveryRecord, type SkippedRecovery } from './repo.js';

export const AUTO_RECOVERY_ACTOR = 'auto-recovery';

export function createRecoveryService(deps: { config: Config; pool: Pool; temporal: Client; logger: Logger }) {
  const { pool, logger } = deps;
  const repo = recoveryRepo(pool);
  const operations = createOperationsService(deps);
  const log = logger.child({ component: 'auto-recovery' });

  /** Starts the instance's next recovery; a skip says why (the lock's holder, or it came back). */
  async function start(
    cluster: { id: string; name: string },
    d: DownInstance,
  ): Promise<{ operationId: string } | { skipped: SkippedRecovery }> {
    const attempt = d.attempts + 1;
    const skipped = (heldBy: SkippedRecovery['heldBy'], reason: string) => ({
      skipped: { instance: d.id, service: d.service, role: d.role, host: d.host, heldBy, reason },
    });
    try {
      const started = await operations.start({
        type: RECOVER_TYPE,
        workflowType: 'recoverInstanceWorkflow',
        // Fixed by instance and attempt: a repeated poll cannot record or start a second one.
        workflowId: () => recoveryWorkflowIds.recoverInstance(cluster.name, d.service, d.id, attempt),
        args: (operationId) => ({ operationId, serviceId: d.serviceId, instanceId: d.id }),
        cluster,
        service: d.service,
        lock: { service: d.service },
        requestedBy: AUTO_RECOVERY_ACTOR,
        prepare: async (tx) => {
          if (!(await recoveryRepo(tx).stillDown(d.id))) throw conflict(`${d.role}@${d.host} is no longer down`);
        },
      });
      return { operationId: started.operation.id };
    } catch (err) {
      if (isConstraintConflict(err)) return skipped(null, `recovery attempt ${attempt} was recorded by another poll`);
      if (err instanceof SophonError && err.code === 'CONFLICT') return skipped(await repo.lockHolder(cluster.id, d.service), err.message);
      // Temporal unavailable: the operation stays PENDING and starts once it answers; the other instances go on.
      if (err instanceof SophonError && err.code === 'DEPENDENCY_UNAVAILABLE') return skipped(null, err.message);
      throw err;
    }
  }

  return {
    /** Recovers the cluster's down instances within their budgets: counts, and what it did to each. */
    async recoverDown(clusterId: string): Promise<{ counts: RecoveryCounts; recovery: RecoveryRecord }> {
      const counts: RecoveryCounts = { started: 0, skipped: 0, inProgress: 0, budgetSpent: 0 };
      const record: { recovery: RecoveryRecord } = { recovery: { started: [], skipped: [], budgetSpent: [] } };
      const cluster = await clustersRepo(pool).find(clusterId);
      if (!cluster) return { counts, ...record };
      const spent: DownInstance[] = [];
      for (const d of await repo.downInstances(clusterId)) {
        const where = { service: d.service, role: d.role, host: d.host, instance: d.id };
        if (!d.enabled) continue;
        if (d.liveRecovery) {
          counts.inProgress++;
          continue;
        }
        if (d.lastHour >= d.maxPerHour) {
          spent.push(d);
          log.warn({ ...where, restartsLastHour: d.lastHour, maxPerHour: d.maxPerHour }, 'restart budget spent: the instance is left down');
          continue;
        }
        const outcome = await start(cluster, d);
        if ('operationId' in outcome) {
          counts.started++;
          record.recovery.started.push(outcome.operationId);
          log.info({ ...where, operationId: outcome.operationId, attempt: d.attempts + 1 }, 'recovering an instance seen down');
        } else {
          counts.skipped++;
          record.recovery.skipped.push(outcome.skipped);
          log.info(
            { ...where, heldBy: outcome.skipped.heldBy, reason: outcome.skipped.reason },
            'recovery skipped this poll; tried again at the next',
          );
        }
      }
      counts.budgetSpent = spent.length;
      record.recovery.budgetSpent = spent.map((d) => d.id);
      await repo.setBudgetSpent(clusterId, spent);
      return { counts, ...record };
    },
  };
}

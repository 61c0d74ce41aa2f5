/** Activities of auto-recovery: the end of each poll (recover what is down, record the poll) and the target of a recovery. */
import { pollsRepo } from '../monitoring/polls-repo.js';
import { createRecoveryService } from './service.js';
import { servicesRepo } from '../services/repo.js';
import type { InstanceRef } from '../services/types.js';
import type { PollTotals } from '../monitoring/types.js';
import type { RecoveryCounts } from './types.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';

export function createRecoveryActivities({ pool, temporal, config, logger, catalog }: ActivityDeps) {
  const recovery = createRecoveryService({ pool, temporal, config, logger });
  const services = servicesRepo(pool);
  return {
    /**
     * After a poll's checks: starts recoveries of the instances it saw down (within their
     * budgets) and records the poll (duration, counts, what recovery did and why it skipped).
     */
    async finishPoll(input: { clusterId: string; counts: PollTotals }): Promise<RecoveryCounts> {
      const { counts, recovery: record } = await recovery.recoverDown(input.clusterId);
      const recoveryCounts = Object.fromEntries(Object.entries(counts).map(([k, v]) => [`recovery_${k}`, v]));
      await pollsRepo(pool).pollFinished(input.clusterId, { counts: { ...input.counts, ...recoveryCounts }, recovery: record });
      return counts;
    },

    /** The instance a recovery restarts, or null when it is gone or no longer meant to run. */
    async recoveryTarget(instanceId: string): Promise<InstanceRef | null> {
      const inst = await services.instance(instanceId);
      if (!inst || inst.desiredState !== 'RUNNING' || inst.leaving) return null;
      const svc = await services.get(inst.serviceId);
      const role = svc && catalog.has(svc.name) ? catalog.get(svc.name).roles.find((r) => r.name === inst.role) : undefined;
      return { id: inst.id, role: inst.role, host: inst.hostname, hostId: inst.hostId, startOrder: role?.startOrder ?? 0 };
    },
  };
}

import { inTransaction } from '../../platform/db/pool.js';
import { auditRepo } from '../audit/repo.js';
import { clustersRepo } from './repo.js';
import { SophonError } from '../../platform/errors.js';
import { ensurePollSchedule } from '../../platform/temporal/schedules.js';
import type { CreateClusterInput } from './types.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';

export function createClusterActivities({ pool, temporal, config }: ActivityDeps) {
  return {
    /**
     * Makes a reserved cluster ACTIVE, audits it and ensures its poll schedule. Idempotent: a retry after a crash at any
     * line finds the cluster ACTIVE and the audit entry present, and changes nothing.
     */
    async createCluster(input: CreateClusterInput): Promise<void> {
      await inTransaction(pool, async (tx) => {
        const cluster = await clustersRepo(tx).find(input.clusterId);
        if (!cluster) throw new SophonError('NOT_FOUND', `Cluster ${input.name} (${input.clusterId}) was removed before it was created`);
        // A run the reconciler gave up on (terminated in Temporal) must not revive its cluster.
        if (cluster.status !== 'CREATING' && cluster.status !== 'ACTIVE') {
          throw new SophonError('CONFLICT', `Cluster ${input.name} is ${cluster.status}; its creation was given up`);
        }
        await clustersRepo(tx).setStatus(input.clusterId, 'ACTIVE');
        await auditRepo(tx).record({
          actor: 'workflow',
          action: 'cluster.created',
          target: input.name,
          operationId: input.operationId,
          details: { clusterId: input.clusterId },
        });
      });
      // After the commit: the schedule's first poll must find the cluster ACTIVE.
      await ensurePollSchedule(temporal, config, input.clusterId, input.name);
    },
  };
}

/** Clusters, behind the routes: creating one reserves its name and starts the create operation. */
import { randomUUID } from 'node:crypto';
import type { Pool } from '../../platform/db/pool.js';
import { conflict } from '../../platform/errors.js';
import type { Config } from '../../platform/settings.js';
import { temporalUiClusterUrl } from '../../platform/temporal/client.js';
import type { OperationsService } from '../operations/service.js';
import type { Requester } from '../../platform/http/idempotency.js';
import { clustersRepo, findCluster } from './repo.js';
import { clusterWorkflowIds } from './types.js';

export interface CreateClusterRequest {
  name: string;
  description: string;
}

export type ClustersService = ReturnType<typeof createClustersService>;

export function createClustersService({
  config,
  pool,
  operations,
}: {
  config: Pick<Config, 'temporal'>;
  pool: Pool;
  operations: OperationsService;
}) {
  const clusters = clustersRepo(pool);
  return {
    list: () => clusters.list(),

    /** A cluster by id or name, with the link to its operations in the Temporal UI. */
    async get(ref: string) {
      const cluster = await findCluster(pool, ref);
      return { ...cluster, temporalUiUrl: temporalUiClusterUrl(config, cluster.name) };
    },

    /** Reserves the name (CREATING) in the transaction that records the operation. */
    create(req: CreateClusterRequest, who: Requester) {
      const clusterId = randomUUID();
      return operations.start({
        type: 'cluster.create',
        workflowType: 'createClusterWorkflow',
        workflowId: (opId) => clusterWorkflowIds.createCluster(req.name, opId),
        args: (opId) => ({ operationId: opId, clusterId, name: req.name }),
        cluster: { id: null, name: req.name },
        requestedBy: who.actor,
        requestId: who.requestId,
        prepare: async (tx, opId) => {
          const reserved = await clustersRepo(tx).insertIntent({
            id: clusterId,
            name: req.name,
            description: req.description,
            operationId: opId,
          });
          if (!reserved) throw conflict(`A cluster named '${req.name}' already exists`);
        },
        idempotency: who.idempotency,
        answer: { cluster: { id: clusterId, name: req.name, status: 'CREATING' as const } },
      });
    },
  };
}

import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { clustersRepo } from './repo.js';
import { conflict, notFound } from '../../platform/errors.js';
import { temporalUiClusterUrl } from '../../platform/temporal/client.js';
import { safeText } from '../../platform/validation.js';
import { clusterWorkflowIds } from './types.js';
import { actorOf } from '../../platform/http/auth.js';
import type { ApiDeps } from '../../platform/http/deps.js';
import { route } from '../../platform/http/registry.js';
import { Timestamp } from '../../platform/http/schemas.js';
import { idempotencyOf } from '../../platform/http/idempotency.js';
import { OperationView } from '../operations/routes.js';

export const CLUSTER_NAME = z
  .string({ error: 'expected a string' })
  .regex(
    /^[a-z][a-z0-9-]{0,61}[a-z0-9]$/,
    'expected 2-63 characters: lower-case letters, digits and "-", starting with a letter and not ending with "-"',
  );

export const CreateClusterBody = z.strictObject({
  name: CLUSTER_NAME,
  description: safeText().max(1000, 'expected at most 1000 characters').default(''),
});

export const Cluster = z.object({
  id: z.uuid(),
  name: z.string(),
  description: z.string(),
  status: z.enum(['CREATING', 'ACTIVE', 'FAILED', 'REMOVING']),
  createdByOperation: z.uuid().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** A cluster with the link to its operations in the Temporal UI (GET /api/v1/clusters/:name). */
export const ClusterDetail = Cluster.extend({ temporalUiUrl: z.string() });

export function clusterRoutes({ config, pool, operations }: ApiDeps) {
  const clusters = clustersRepo(pool);
  return [
    route({
      method: 'get',
      path: '/api/v1/clusters',
      summary: 'List clusters',
      status: 200,
      response: z.object({ clusters: z.array(Cluster) }),
      handler: async () => ({ clusters: await clusters.list() }),
    }),
    route({
      method: 'get',
      path: '/api/v1/clusters/:cluster',
      summary: 'Show a cluster by id or name',
      status: 200,
      response: ClusterDetail,
      handler: async ({ params }) => {
        const cluster = await clusters.find(params.cluster!);
        if (!cluster) throw notFound('Cluster', params.cluster!);
        return { ...cluster, temporalUiUrl: temporalUiClusterUrl(config, cluster.name) };
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/clusters',
      summary: 'Create a cluster (starts an operation)',
      body: CreateClusterBody,
      idempotent: true,
      status: 202,
      response: z.object({
        operation: OperationView,
        cluster: z.object({ id: z.uuid(), name: z.string(), status: z.literal('CREATING') }),
      }),
      handler: async ({ req, body }) => {
        const clusterId = randomUUID();
        return operations.start({
          type: 'cluster.create',
          workflowType: 'createClusterWorkflow',
          workflowId: (opId) => clusterWorkflowIds.createCluster(body.name, opId),
          args: (opId) => ({ operationId: opId, clusterId, name: body.name }),
          cluster: { id: null, name: body.name },
          requestedBy: actorOf(req),
          requestId: String(req.id),
          prepare: async (tx, opId) => {
            const reserved = await clustersRepo(tx).insertIntent({ id: clusterId, name: body.name, description: body.description, operationId: opId });
            if (!reserved) throw conflict(`A cluster named '${body.name}' already exists`);
          },
          idempotency: idempotencyOf(req),
          answer: { cluster: { id: clusterId, name: body.name, status: 'CREATING' as const } },
        });
      },
    }),
  ];
}

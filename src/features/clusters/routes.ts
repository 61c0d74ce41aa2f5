/** HTTP routes of clusters (see src/platform/http/registry.ts): parse, then delegate to the clusters service. */
import { z } from 'zod';
import { safeText } from '../../platform/validation.js';
import { route } from '../../platform/http/registry.js';
import { Timestamp } from '../../platform/http/schemas.js';
import { requesterOf } from '../../platform/http/idempotency.js';
import { OperationView } from '../operations/routes.js';
import type { ClustersService } from './service.js';

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

export function clusterRoutes(clusters: ClustersService) {
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
      handler: ({ params }) => clusters.get(params.cluster!),
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
      handler: ({ req, body }) => clusters.create(body, requesterOf(req)),
    }),
  ];
}

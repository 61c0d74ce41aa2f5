import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { z } from 'zod';
import { clustersRepo } from '../../db/repos/clusters.js';
import { conflict, notFound } from '../../errors.js';
import { temporalUiClusterUrl } from '../../temporal/client.js';
import { parseInput } from '../../validation.js';
import { workflowIds } from '../../../workflows/shared.js';
import { actorOf } from '../auth.js';
import { idempotencyOf } from '../idempotency.js';
import type { ApiDeps } from '../deps.js';

export const CLUSTER_NAME = z
  .string({ error: 'expected a string' })
  .regex(
    /^[a-z][a-z0-9-]{0,61}[a-z0-9]$/,
    'expected 2-63 characters: lower-case letters, digits and "-", starting with a letter and not ending with "-"',
  );

export const CreateClusterBody = z.strictObject({
  name: CLUSTER_NAME,
  description: z.string().max(1000, 'expected at most 1000 characters').default(''),
});

export function clusterRoutes({ config, pool, operations }: ApiDeps): Router {
  const router = Router();
  const clusters = clustersRepo(pool);

  router.get('/', async (_req, res) => {
    res.json({ clusters: await clusters.list() });
  });

  router.get('/:cluster', async (req, res) => {
    const cluster = await clusters.find(req.params.cluster);
    if (!cluster) throw notFound('Cluster', req.params.cluster);
    res.json({ ...cluster, temporalUiUrl: temporalUiClusterUrl(config, cluster.name) });
  });

  router.post('/', async (req, res) => {
    const body = parseInput(CreateClusterBody, req.body, 'request body');
    const clusterId = randomUUID();
    const answer = await operations.start({
      type: 'cluster.create',
      workflowType: 'createClusterWorkflow',
      workflowId: (opId) => workflowIds.createCluster(body.name, opId),
      args: (opId) => ({ operationId: opId, clusterId, name: body.name }),
      cluster: { id: null, name: body.name },
      requestedBy: actorOf(req),
      requestId: String(req.id),
      prepare: async (tx, opId) => {
        const reserved = await clustersRepo(tx).insertIntent({ id: clusterId, name: body.name, description: body.description, operationId: opId });
        if (!reserved) throw conflict(`A cluster named '${body.name}' already exists`);
      },
      idempotency: idempotencyOf(req),
      answer: { cluster: { id: clusterId, name: body.name, status: 'CREATING' } },
    });
    res.status(202).json(answer);
  });
  return router;
}

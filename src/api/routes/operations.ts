import { Router } from 'express';
import { z } from 'zod';
import { OPERATION_STATUSES } from '../../db/repos/operations.js';
import { parseInput } from '../../validation.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';

const ListQuery = z.object({
  cluster: z.string().optional(),
  service: z.string().optional(),
  status: z.enum(OPERATION_STATUSES, { error: `expected one of ${OPERATION_STATUSES.join(', ')}` }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export function operationRoutes({ operations }: ApiDeps): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const query = parseInput(ListQuery, req.query, 'query');
    res.json({ operations: await operations.list(query) });
  });

  router.get('/:id', async (req, res) => {
    res.json({ operation: await operations.get(req.params.id) });
  });

  router.post('/:id/cancel', async (req, res) => {
    res.status(202).json({ operation: await operations.cancel(req.params.id, actorOf(req)) });
  });
  return router;
}

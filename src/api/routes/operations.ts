import { Router } from 'express';
import { z } from 'zod';
import { OPERATION_STATUSES } from '../../db/repos/operations.js';
import { parseInput } from '../../validation.js';
import { DECISION_ACTIONS } from '../../../workflows/messages.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';

const ListQuery = z.object({
  cluster: z.string().optional(),
  service: z.string().optional(),
  status: z.enum(OPERATION_STATUSES, { error: `expected one of ${OPERATION_STATUSES.join(', ')}` }).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const GetQuery = z.object({ attempts: z.enum(['latest', 'all']).default('latest') });

export const DecisionBody = z.strictObject({
  action: z.enum(DECISION_ACTIONS, { error: `expected one of ${DECISION_ACTIONS.join(', ')}` }),
});

export function operationRoutes({ operations }: ApiDeps): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    const query = parseInput(ListQuery, req.query, 'query');
    res.json({ operations: await operations.list(query) });
  });

  router.get('/:id', async (req, res) => {
    const { attempts } = parseInput(GetQuery, req.query, 'query');
    res.json({ operation: await operations.get(req.params.id, { attempts: attempts === 'all' }) });
  });

  router.post('/:id/decision', async (req, res) => {
    const { action } = parseInput(DecisionBody, req.body, 'request body');
    res.status(202).json({ operation: await operations.decide(req.params.id, action, actorOf(req)) });
  });

  router.post('/:id/cancel', async (req, res) => {
    res.status(202).json({ operation: await operations.cancel(req.params.id, actorOf(req)) });
  });
  return router;
}

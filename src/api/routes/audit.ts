import { Router } from 'express';
import { z } from 'zod';
import { auditRepo } from '../../db/repos/audit.js';
import { parseInput } from '../../validation.js';
import { requireRole } from '../auth.js';
import type { ApiDeps } from '../deps.js';

const Query = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  before: z.coerce.number().int().positive().optional(),
});

export function auditRoutes({ pool }: ApiDeps): Router {
  const router = Router();
  router.get('/', requireRole('admin'), async (req, res) => {
    const q = parseInput(Query, req.query, 'query');
    res.json({ entries: await auditRepo(pool).list(q.limit, q.before) });
  });
  return router;
}

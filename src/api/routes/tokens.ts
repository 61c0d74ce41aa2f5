import { Router } from 'express';
import { z } from 'zod';
import { auditRepo } from '../../db/repos/audit.js';
import { ROLES, tokensRepo } from '../../db/repos/tokens.js';
import { notFound, SophonError } from '../../errors.js';
import { parseInput } from '../../validation.js';
import { actorOf, requireRole } from '../auth.js';
import type { ApiDeps } from '../deps.js';

export const CreateTokenBody = z.strictObject({
  name: z.string().trim().min(1, 'expected a name').max(100, 'expected at most 100 characters'),
  role: z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }),
});

export function tokenRoutes({ pool }: ApiDeps): Router {
  const router = Router();
  const tokens = tokensRepo(pool);
  const audit = auditRepo(pool);
  router.use(requireRole('admin'));

  router.get('/', async (_req, res) => {
    res.json({ tokens: await tokens.list() });
  });

  router.post('/', async (req, res) => {
    const body = parseInput(CreateTokenBody, req.body, 'request body');
    const { token, record } = await tokens.create({ ...body, createdBy: actorOf(req) });
    await audit.record({ actor: actorOf(req), action: 'token.create', target: record.name, requestId: String(req.id), details: { tokenId: record.id, role: record.role } });
    // The secret is shown this once; only its hash is stored.
    res.status(201).json({ token, ...record });
  });

  router.delete('/:id', async (req, res) => {
    const existing = await tokens.get(req.params.id);
    if (!existing) throw notFound('Token', req.params.id);
    if (existing.role === 'admin' && !existing.revokedAt && (await tokens.countLiveAdmins()) <= 1) {
      throw new SophonError('CONFLICT', 'This is the last admin token; create another admin token before revoking it');
    }
    const revoked = await tokens.revoke(req.params.id);
    await audit.record({ actor: actorOf(req), action: 'token.revoke', target: existing.name, requestId: String(req.id), details: { tokenId: existing.id } });
    res.json(revoked);
  });
  return router;
}

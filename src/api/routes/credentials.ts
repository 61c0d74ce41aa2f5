import { Router } from 'express';
import { z } from 'zod';
import { auditRepo } from '../../db/repos/audit.js';
import { parseInput } from '../../validation.js';
import { actorOf, requireRole } from '../auth.js';
import type { ApiDeps } from '../deps.js';

export const CreateCredentialBody = z.strictObject({
  name: z.string().trim().min(1, 'expected a name').max(100, 'expected at most 100 characters'),
  username: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'expected a Unix user name (letters, digits, "_", ".", "-"; at most 32 characters)'),
  privateKey: z.string().min(1, 'expected an OpenSSH or PEM private key').max(20_000, 'expected at most 20000 characters'),
  passphrase: z.string().max(1000).optional(),
});

export function credentialRoutes({ pool, credentials }: ApiDeps): Router {
  const router = Router();
  router.use(requireRole('admin'));

  router.get('/', async (_req, res) => {
    res.json({ credentials: await credentials.list() });
  });

  router.get('/:credential', async (req, res) => {
    res.json(await credentials.find(req.params.credential));
  });

  router.post('/', async (req, res) => {
    const body = parseInput(CreateCredentialBody, req.body, 'request body');
    const created = await credentials.create(body, actorOf(req));
    await auditRepo(pool).record({ actor: actorOf(req), action: 'credential.create', target: created.name, requestId: String(req.id), details: { credentialId: created.id } });
    res.status(201).json(created);
  });
  return router;
}

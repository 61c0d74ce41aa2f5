import { z } from 'zod';
import { inTransaction } from '../../platform/db/pool.js';
import { auditRepo } from '../audit/repo.js';
import { tokensRepo } from './repo.js';
import { notFound, SophonError } from '../../platform/errors.js';
import { safeText } from '../../platform/validation.js';
import { actorOf } from '../../platform/http/auth.js';
import { ROLES } from '../../platform/http/roles.js';
import type { ApiDeps } from '../../platform/http/deps.js';
import { route } from '../../platform/http/registry.js';
import { Timestamp } from '../../platform/http/schemas.js';

export const CreateTokenBody = z.strictObject({
  name: safeText().trim().min(1, 'expected a name').max(100, 'expected at most 100 characters'),
  role: z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }),
});

const Token = z.object({
  id: z.uuid(),
  name: z.string(),
  role: z.enum(ROLES),
  prefix: z.string(),
  createdBy: z.string(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
});

export function tokenRoutes({ pool }: ApiDeps) {
  const tokens = tokensRepo(pool);
  const audit = auditRepo(pool);
  return [
    route({
      method: 'get',
      path: '/api/v1/tokens',
      summary: 'List API tokens',
      role: 'admin',
      status: 200,
      response: z.object({ tokens: z.array(Token) }),
      handler: async () => ({ tokens: await tokens.list() }),
    }),
    route({
      method: 'post',
      path: '/api/v1/tokens',
      summary: 'Create an API token (shown once)',
      role: 'admin',
      body: CreateTokenBody,
      status: 201,
      response: Token.extend({ token: z.string().describe('The secret; shown only in this answer') }),
      handler: async ({ req, body }) => {
        const { token, record } = await tokens.create({ ...body, createdBy: actorOf(req) });
        await audit.record({ actor: actorOf(req), action: 'token.create', target: record.name, requestId: String(req.id), details: { tokenId: record.id, role: record.role } });
        // The secret is shown this once; only its hash is stored.
        return { token, ...record };
      },
    }),
    route({
      method: 'delete',
      path: '/api/v1/tokens/:id',
      summary: 'Revoke an API token',
      role: 'admin',
      status: 200,
      response: Token,
      handler: ({ req, params }) =>
        // Admin tokens are locked while counting, so two revocations cannot leave no admin.
        inTransaction(pool, async (tx) => {
          await tx.query(`SELECT id FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL FOR UPDATE`);
          const existing = await tokensRepo(tx).get(params.id!);
          if (!existing) throw notFound('Token', params.id!);
          if (existing.role === 'admin' && !existing.revokedAt && (await tokensRepo(tx).countLiveAdmins()) <= 1) {
            throw new SophonError('CONFLICT', 'This is the last admin token; create another admin token before revoking it');
          }
          const revoked = await tokensRepo(tx).revoke(params.id!);
          await auditRepo(tx).record({ actor: actorOf(req), action: 'token.revoke', target: existing.name, requestId: String(req.id), details: { tokenId: existing.id } });
          return revoked;
        }),
    }),
  ];
}

/** API tokens, behind the routes: the secret is shown once; the last live admin token cannot be revoked. */
import { inTransaction, type Pool } from '../../platform/db/pool.js';
import { notFound, SophonError } from '../../platform/errors.js';
import type { Who } from '../../platform/http/auth.js';
import type { Role } from '../../platform/http/roles.js';
import { auditRepo } from '../audit/repo.js';
import { tokensRepo } from './repo.js';

export type TokensService = ReturnType<typeof createTokensService>;

export function createTokensService({ pool }: { pool: Pool }) {
  const tokens = tokensRepo(pool);
  return {
    list: () => tokens.list(),

    async create(input: { name: string; role: Role }, who: Who) {
      const { token, record } = await tokens.create({ ...input, createdBy: who.actor });
      await auditRepo(pool).record({
        actor: who.actor,
        action: 'token.create',
        target: record.name,
        requestId: who.requestId,
        details: { tokenId: record.id, role: record.role },
      });
      // The secret is shown this once; only its hash is stored.
      return { token, ...record };
    },

    revoke: (id: string, who: Who) =>
      // Admin tokens are locked while counting, so two revocations cannot leave no admin.
      inTransaction(pool, async (tx) => {
        await tx.query(`SELECT id FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL FOR UPDATE`);
        const existing = await tokensRepo(tx).get(id);
        if (!existing) throw notFound('Token', id);
        if (existing.role === 'admin' && !existing.revokedAt && (await tokensRepo(tx).countLiveAdmins()) <= 1) {
          throw new SophonError('CONFLICT', 'This is the last admin token; create another admin token before revoking it');
        }
        const revoked = await tokensRepo(tx).revoke(id);
        await auditRepo(tx).record({
          actor: who.actor,
          action: 'token.revoke',
          target: existing.name,
          requestId: who.requestId,
          details: { tokenId: existing.id },
        });
        return revoked;
      }),
  };
}

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '../../platform/http/roles.js';
import { isUuid, type Pool, type PoolClient } from '../../platform/db/pool.js';

export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdBy: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

type Db = Pool | PoolClient;

const COLUMNS = `id, name, role, prefix, created_by AS "createdBy", created_at AS "createdAt",
  last_used_at AS "lastUsedAt", revoked_at AS "revokedAt"`;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function tokensRepo(db: Db) {
  return {
    /** Creates a token; the secret is returned once and only its hash is stored. */
    async create(t: { name: string; role: Role; createdBy: string }): Promise<{ token: string; record: ApiToken }> {
      const token = `sph_${randomBytes(32).toString('base64url')}`;
      const res = await db.query<ApiToken>(
        `INSERT INTO api_tokens (id, name, role, token_hash, prefix, created_by)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
        [randomUUID(), t.name, t.role, hashToken(token), token.slice(0, 8), t.createdBy],
      );
      return { token, record: res.rows[0]! };
    },

    /** Finds the live token matching a presented secret and stamps its last use. */
    async authenticate(token: string): Promise<ApiToken | undefined> {
      const res = await db.query<ApiToken>(
        `UPDATE api_tokens SET last_used_at = now()
         WHERE token_hash = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
        [hashToken(token)],
      );
      return res.rows[0];
    },

    async list(): Promise<ApiToken[]> {
      return (await db.query<ApiToken>(`SELECT ${COLUMNS} FROM api_tokens ORDER BY created_at`)).rows;
    },

    async get(id: string): Promise<ApiToken | undefined> {
      if (!isUuid(id)) return undefined;
      return (await db.query<ApiToken>(`SELECT ${COLUMNS} FROM api_tokens WHERE id = $1`, [id])).rows[0];
    },

    async revoke(id: string): Promise<ApiToken | undefined> {
      if (!isUuid(id)) return undefined;
      const res = await db.query<ApiToken>(
        `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
        [id],
      );
      return res.rows[0];
    },

    async countLiveAdmins(): Promise<number> {
      const res = await db.query<{ n: string }>(`SELECT count(*) AS n FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL`);
      return Number(res.rows[0]?.n ?? 0);
    },
  };
}

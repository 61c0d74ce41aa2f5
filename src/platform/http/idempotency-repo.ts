import type { Pool, PoolClient } from '../db/pool.js';

/** How long a key keeps naming its operation; an older key is free again. */
export const IDEMPOTENCY_TTL_HOURS = 24;

/** What identifies a request that starts work, from the Idempotency-Key header and the request. */
export interface IdempotencyRequest {
  key: string;
  /** The token that sent the key: keys of different tokens never meet. */
  actor: string;
  method: string;
  path: string;
  /** sha256 of the canonical JSON body. */
  requestHash: string;
  /** sha256 of each top-level body field, so a refusal can say which fields differ. */
  fieldHashes: Record<string, string>;
}

export interface StoredIdempotencyKey extends IdempotencyRequest {
  operationId: string;
  answer: Record<string, unknown>;
  createdAt: Date;
}

type Db = Pool | PoolClient;

export function idempotencyRepo(db: Db) {
  return {
    /**
     * Claims the key for a new operation. Returns false when a live key exists (committed
     * by another request; a concurrent one still in flight is waited for by the unique
     * index). An expired key is taken over.
     */
    async claim(req: IdempotencyRequest, operationId: string, answer: Record<string, unknown>): Promise<boolean> {
      const res = await db.query(
        `INSERT INTO idempotency_keys (actor, key, method, path, request_hash, field_hashes, answer, operation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (actor, key) DO UPDATE
           SET method = EXCLUDED.method, path = EXCLUDED.path, request_hash = EXCLUDED.request_hash,
               field_hashes = EXCLUDED.field_hashes, answer = EXCLUDED.answer,
               operation_id = EXCLUDED.operation_id, created_at = now()
           WHERE idempotency_keys.created_at < now() - make_interval(hours => $9)`,
        [req.actor, req.key, req.method, req.path, req.requestHash, req.fieldHashes, answer, operationId, IDEMPOTENCY_TTL_HOURS],
      );
      return res.rowCount === 1;
    },

    async find(actor: string, key: string): Promise<StoredIdempotencyKey | undefined> {
      return (
        await db.query<StoredIdempotencyKey>(
          `SELECT actor, key, method, path, request_hash AS "requestHash", field_hashes AS "fieldHashes", answer,
             operation_id AS "operationId", created_at AS "createdAt"
           FROM idempotency_keys
           WHERE actor = $1 AND key = $2 AND created_at >= now() - make_interval(hours => $3)`,
          [actor, key, IDEMPOTENCY_TTL_HOURS],
        )
      ).rows[0];
    },

    /** Deletes up to `limit` expired keys; returns how many. */
    async pruneExpired(limit = 1000): Promise<number> {
      const res = await db.query(
        `DELETE FROM idempotency_keys WHERE (actor, key) IN (
           SELECT actor, key FROM idempotency_keys
           WHERE created_at < now() - make_interval(hours => $1) LIMIT $2)`,
        [IDEMPOTENCY_TTL_HOURS, limit],
      );
      return res.rowCount ?? 0;
    },
  };
}

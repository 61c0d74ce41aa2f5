import type { Pool, PoolClient } from '../../platform/db/pool.js';

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string;
  operationId?: string;
  requestId?: string;
  details?: Record<string, unknown>;
}

type Db = Pool | PoolClient;

export function auditRepo(db: Db) {
  return {
    /**
     * Records an entry. Entries tied to an operation are unique per (operation, action,
     * target), so a retried activity does not audit its side effect twice.
     */
    async record(e: AuditEntry): Promise<void> {
      await db.query(
        `INSERT INTO audit_log (actor, action, target, operation_id, request_id, details)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
        [e.actor, e.action, e.target ?? '', e.operationId ?? null, e.requestId ?? null, e.details ?? {}],
      );
    },

    /** A page of entries, newest first, after the entry `after`; fetches `limit + 1` rows. */
    async list(limit: number, after?: string) {
      const res = await db.query(
        `SELECT id, at, actor, action, target, operation_id AS "operationId", request_id AS "requestId", details
         FROM audit_log WHERE ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $1`,
        [limit + 1, after ?? null],
      );
      return res.rows as Array<{ id: string; at: Date; actor: string; action: string; target: string }>;
    },
  };
}

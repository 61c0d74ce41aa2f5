/** The audit log, behind its route: pages newest first, keyed by entry id. */
import { z } from 'zod';
import type { Pool } from '../../platform/db/pool.js';
import { decodeCursor, pageOf } from '../../platform/http/paging.js';
import { auditRepo } from './repo.js';

export type AuditService = ReturnType<typeof createAuditService>;

export function createAuditService({ pool }: { pool: Pool }) {
  return {
    async list(page: { limit: number; cursor?: string | undefined }) {
      const after = decodeCursor(page.cursor, z.string().regex(/^\d{1,19}$/));
      const { items, nextCursor } = pageOf(await auditRepo(pool).list(page.limit, after), page.limit, (e) => e.id);
      return { entries: items, nextCursor };
    },
  };
}

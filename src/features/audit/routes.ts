import { z } from 'zod';
import { auditRepo } from './repo.js';
import type { ApiDeps } from '../../platform/http/deps.js';
import { decodeCursor, pageOf, PageQuery } from '../../platform/http/paging.js';
import { route } from '../../platform/http/registry.js';
import { NextCursor, Timestamp } from '../../platform/http/schemas.js';

const Query = z.object({ ...PageQuery });

const Entry = z.object({
  id: z.string().describe('Increasing with time'),
  at: Timestamp,
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  operationId: z.uuid().nullable(),
  requestId: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});

export function auditRoutes({ pool }: ApiDeps) {
  return [
    route({
      method: 'get',
      path: '/api/v1/audit',
      summary: 'Audit log, newest first (paged)',
      role: 'admin',
      query: Query,
      status: 200,
      response: z.object({ entries: z.array(Entry), nextCursor: NextCursor }),
      handler: async ({ query }) => {
        const after = decodeCursor(query.cursor, z.string().regex(/^\d{1,19}$/));
        const { items, nextCursor } = pageOf(await auditRepo(pool).list(query.limit, after), query.limit, (e) => e.id);
        return { entries: items, nextCursor };
      },
    }),
  ];
}

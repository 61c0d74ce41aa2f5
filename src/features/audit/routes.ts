/** HTTP route of the audit log (see src/platform/http/registry.ts): parse, then delegate to the audit service. */
import { z } from 'zod';
import type { AuditService } from './service.js';
import { PageQuery } from '../../platform/http/paging.js';
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

export function auditRoutes(audit: AuditService) {
  return [
    route({
      method: 'get',
      path: '/api/v1/audit',
      summary: 'Audit log, newest first (paged)',
      role: 'admin',
      query: Query,
      status: 200,
      response: z.object({ entries: z.array(Entry), nextCursor: NextCursor }),
      handler: ({ query }) => audit.list(query),
    }),
  ];
}

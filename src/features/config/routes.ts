/** HTTP routes of config versions (see src/platform/http/registry.ts): parse, then delegate to the config service. */
import { z } from 'zod';
import { requesterOf } from '../../platform/http/idempotency.js';
import { PageQuery } from '../../platform/http/paging.js';
import { route } from '../../platform/http/registry.js';
import { OperationView } from '../operations/routes.js';
import { Timestamp } from '../../platform/http/schemas.js';
import { notFound } from '../../platform/errors.js';
import { safeText } from '../../platform/validation.js';
import type { ConfigService } from './service.js';

const Value = z.union([z.string().max(4096), z.number(), z.boolean()]);
const NOTE = safeText().max(1000).optional().describe('why, for the history');
const VERSION = z.number().int().min(1).max(2_147_483_647);

export const ConfigChangeBody = z.strictObject({
  values: z
    .record(safeText().min(1).max(253), Value)
    .describe(
      'parameter → new value; the others keep their current value. Equal values still make a version (re-applied, nothing restarted)',
    ),
  note: NOTE,
});

export const ConfigRollbackBody = z.strictObject({
  version: VERSION.describe('an earlier config version, whose values become a new version'),
  note: NOTE,
});

const VersionsQuery = z.object({
  limit: PageQuery.limit,
  before: z.coerce
    .number({ error: 'expected a version number' })
    .int('expected a whole number')
    .min(1)
    .max(2_147_483_647)
    .optional()
    .describe('only versions older than this (the nextBefore of the previous page)'),
});

const DiffQuery = z.object({ host: safeText().min(1).max(253).optional().describe('only the instance on this host') });

const Changes = z.record(z.string(), z.object({ from: Value.nullable(), to: Value.nullable() }));

export const ConfigView = z.object({
  service: z.string(),
  version: z.number().int(),
  values: z.record(z.string(), Value),
  defaults: z.array(z.string()).describe('parameters whose value is the definition default'),
  author: z.string(),
  note: z.string(),
  createdAt: Timestamp,
});

export const ConfigVersionView = z.object({
  version: z.number().int(),
  author: z.string(),
  note: z.string(),
  createdAt: Timestamp,
  changes: Changes,
  operationId: z.uuid().nullable(),
});

export const ConfigDiff = z.object({
  from: z.number().int(),
  to: z.number().int(),
  changes: Changes,
  instances: z.array(z.object({ role: z.string(), host: z.string(), files: z.array(z.object({ path: z.string(), diff: z.string() })) })),
});

const BASE = '/api/v1/clusters/:cluster/services/:service/config';

/** A version number in a path; anything else names no version. */
function versionParam(raw: string): number {
  if (!/^[1-9]\d{0,8}$/.test(raw)) throw notFound('Config version', raw);
  return Number(raw);
}

export function configRoutes(config: ConfigService) {
  return [
    route({
      method: 'get',
      path: BASE,
      summary: "A service's current config version: every parameter's value (defaults filled in) and which are defaults",
      status: 200,
      response: z.object({ config: ConfigView }),
      handler: async ({ params }) => ({ config: await config.get(params.cluster!, params.service!) }),
    }),
    route({
      method: 'put',
      path: BASE,
      summary:
        'Change parameters: validated, recorded as a new immutable config version and applied by a reconfigure operation (rolling restarts only where needed)',
      body: ConfigChangeBody,
      idempotent: true,
      status: 202,
      response: z.object({ operation: OperationView }),
      handler: ({ req, params, body }) => config.put(params.cluster!, params.service!, body, requesterOf(req)),
    }),
    route({
      method: 'get',
      path: `${BASE}/versions`,
      summary: 'Config versions, newest first: author, note, time and what changed',
      query: VersionsQuery,
      status: 200,
      response: z.object({
        versions: z.array(ConfigVersionView),
        nextBefore: z.number().int().nullable().describe('Pass as `before` for the next page; null on the last page'),
      }),
      handler: ({ params, query }) => config.versions(params.cluster!, params.service!, query),
    }),
    route({
      method: 'get',
      path: `${BASE}/versions/:a/diff/:b`,
      summary: 'What changes between two config versions: per instance, a unified diff of each rendered file that differs',
      query: DiffQuery,
      status: 200,
      response: ConfigDiff,
      handler: ({ params, query }) =>
        config.diff(params.cluster!, params.service!, versionParam(params.a!), versionParam(params.b!), query.host),
    }),
    route({
      method: 'post',
      path: '/api/v1/clusters/:cluster/services/:service/refresh',
      summary:
        "Render the service's files again against what it reads now (its dependencies' members) and roll the instances whose files differ; " +
        'Sophon starts one by itself after a scale or deploy of a service this one reads',
      idempotent: true,
      status: 202,
      response: z.object({ operation: OperationView }),
      handler: ({ req, params }) => config.refresh(params.cluster!, params.service!, requesterOf(req)),
    }),
    route({
      method: 'post',
      path: `${BASE}/rollback`,
      summary: 'Return to an earlier config version: its values become a new version, applied like any change',
      body: ConfigRollbackBody,
      idempotent: true,
      status: 202,
      response: z.object({ operation: OperationView }),
      handler: ({ req, params, body }) => config.rollback(params.cluster!, params.service!, body, requesterOf(req)),
    }),
  ];
}

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

const PARAMS = z.record(safeText().min(1).max(253), Value);

const GROUP_NAME_RULE = '2-63 characters: lower-case letters, digits and "-", starting with a letter and not ending with "-"';
const GROUP_NAME = z.string().regex(/^[a-z][a-z0-9-]{0,61}[a-z0-9]$/, `expected ${GROUP_NAME_RULE}`);

const GroupBody = z.strictObject({
  role: safeText().min(1).max(253).describe("a role of the service's definition"),
  hosts: z
    .array(safeText().min(1).max(253))
    .max(1000)
    .describe('hosts running an instance of the role; a host is in at most one group per role'),
  values: PARAMS.default({}).describe("parameter → value for these hosts' instances, over the service's values"),
});

const VALUES = PARAMS.describe(
  'parameter → new value; the others keep their current value. Equal values still make a version (re-applied, nothing restarted)',
);

/** A scheduled change (maintenance): values only, since groups name hosts that a schedule may outlive. */
export const ConfigValuesChange = z.strictObject({ values: VALUES, note: NOTE });

export const ConfigChangeBody = z
  .strictObject({
    values: VALUES.optional(),
    groups: z
      .record(GROUP_NAME, GroupBody, {
        error: (issue) => (issue.code === 'invalid_key' ? `expected a group name of ${GROUP_NAME_RULE}` : undefined),
      })
      .refine((g) => Object.keys(g).length <= 100, 'expected at most 100 groups')
      .optional()
      .describe("role groups: name → {role, hosts, values}, replacing the current version's groups; absent: they stay; {}: none"),
    note: NOTE,
  })
  .refine((b) => b.values !== undefined || b.groups !== undefined, { message: 'give values, groups or both', path: ['values'] });

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

const Changes = z
  .record(z.string(), z.object({ from: Value.nullable(), to: Value.nullable() }))
  .describe('parameter (or `groups.<name>.role|hosts|<parameter>`) → {from, to}; null: absent on that side');

const GroupView = z.object({ role: z.string(), hosts: z.array(z.string()), values: z.record(z.string(), Value) });

export const ConfigView = z.object({
  service: z.string(),
  version: z.number().int(),
  values: z.record(z.string(), Value),
  defaults: z.array(z.string()).describe('parameters whose value is the definition default'),
  groups: z
    .record(
      z.string(),
      GroupView.extend({
        hosts: z.array(z.string()).describe("hosts whose instances run the group's values"),
        departed: z.array(z.string()).describe('hosts the group lists whose instance has left the service (scale-in): they match no more'),
        effective: z.record(z.string(), Value).describe("every parameter's value on the group's hosts"),
      }),
    )
    .describe("role groups: some instances of a role run other values than the service's"),
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
  groups: z.record(z.string(), GroupView).describe("the version's role groups"),
  operationId: z.uuid().nullable(),
});

export const ConfigDiff = z.object({
  from: z.number().int(),
  to: z.number().int(),
  changes: Changes,
  instances: z
    .array(
      z.object({
        role: z.string(),
        host: z.string(),
        changes: Changes.describe("the instance's values (its group's applied) that change"),
        files: z.array(z.object({ path: z.string(), diff: z.string() })),
        start: z
          .object({ from: z.string(), to: z.string() })
          .optional()
          .describe('the start (or process) command, when it changes (e.g. a heap flag): the instance restarts'),
      }),
    )
    .describe('the instances whose files or start command differ'),
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
      summary:
        "A service's current config version: every parameter's value (defaults filled in), which are defaults, and its role groups with their values",
      status: 200,
      response: z.object({ config: ConfigView }),
      handler: async ({ params }) => ({ config: await config.get(params.cluster!, params.service!) }),
    }),
    route({
      method: 'put',
      path: BASE,
      summary:
        'Change parameters and role groups: validated, recorded as a new immutable config version and applied by a reconfigure operation (rolling restarts only of the instances whose files or start command change)',
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
      summary:
        'What changes between two config versions: per instance (role groups applied), a unified diff of each rendered file that differs and the start command when it differs',
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
      summary: 'Return to an earlier config version: its values and role groups become a new version, applied like any change',
      body: ConfigRollbackBody,
      idempotent: true,
      status: 202,
      response: z.object({ operation: OperationView }),
      handler: ({ req, params, body }) => config.rollback(params.cluster!, params.service!, body, requesterOf(req)),
    }),
  ];
}

/** HTTP routes of hosts (see src/platform/http/registry.ts): parse, then delegate to the hosts service. */
import { z } from 'zod';
import { HOST_STATUSES } from './repo.js';
import { safeText } from '../../platform/validation.js';
import { who } from '../../platform/http/auth.js';
import { PageQuery } from '../../platform/http/paging.js';
import { route } from '../../platform/http/registry.js';
import { MaintenanceUntil, NextCursor, Timestamp } from '../../platform/http/schemas.js';
import { requesterOf } from '../../platform/http/idempotency.js';
import { OperationView } from '../operations/routes.js';
import type { HostsService } from './service.js';

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const Labels = z.record(
  z.string().regex(LABEL_KEY, 'expected label keys of letters, digits, ".", "_", "/", "-" (at most 63)'),
  safeText().max(255, 'expected label values of at most 255 characters'),
);

// Install paths end up in service commands, which take only plain words (see renderCommand).
const InstallRoot = z
  .string()
  .max(1024)
  .regex(/^\/[A-Za-z0-9._/-]*$/, 'expected an absolute path of letters, digits and . _ - /')
  .refine((p) => p !== '/' && !p.includes('//'), 'expected a directory below / without empty segments ("//")')
  .refine((p) => !p.split('/').includes('..'), 'expected a path without ".." segments');

/** Host names, IP addresses and one range like node[1-3]; each expanded name is checked again. */
const HostPattern = z
  .string({ error: 'expected a string' })
  .min(1, 'expected a hostname or a range like node[1-3]')
  .max(253)
  .regex(/^[A-Za-z0-9.[\]-]+$/, 'expected letters, digits, ".", "-" and one range like [1-3]');

const HostSpec = z.strictObject({
  hostname: HostPattern,
  address: HostPattern.optional(),
  port: z.number().int().min(1).max(65535).default(22),
  credential: safeText().min(1, 'expected a credential id or name').max(100).meta({ example: 'ops-key' }),
  installRoot: InstallRoot.default('/opt/sophon'),
  labels: Labels.default({}),
});

export const AddHostsBody = z.strictObject({
  hosts: z.array(HostSpec).min(1, 'expected at least one host').max(1000, 'expected at most 1000 entries'),
});

export const PatchHostBody = z
  .strictObject({
    labels: Labels.optional(),
    maintenance: z
      .union([z.boolean(), MaintenanceUntil])
      .optional()
      .describe('true: maintenance until turned off; {until}: until that time; false: no maintenance'),
  })
  .refine((b) => b.labels !== undefined || b.maintenance !== undefined, 'expected labels or maintenance')
  // The refinement as JSON Schema, so the OpenAPI document states it too.
  .meta({ minProperties: 1 });

export const HostView = z.object({
  id: z.uuid(),
  cluster: z.string(),
  hostname: z.string(),
  address: z.string(),
  port: z.number().int(),
  credential: z.string(),
  installRoot: z.string(),
  labels: z.record(z.string(), z.string()),
  status: z.enum(HOST_STATUSES),
  statusReason: z.string().nullable(),
  maintenance: z.boolean().describe('in maintenance now: turned on, or maintenanceUntil in the future'),
  maintenanceUntil: Timestamp.nullable(),
  hostKeyFingerprint: z.string().nullable(),
  facts: z.record(z.string(), z.unknown()).nullable(),
  lastSeenAt: Timestamp.nullable(),
  createdAt: Timestamp,
  health: z
    .object({ up: z.number().int(), down: z.number().int(), lastScrapeAt: Timestamp.nullable(), openAlerts: z.number().int() })
    .describe(
      "the host's role instances by their latest `up` (see GET .../metrics), when the poll last saw them, and its alerts firing or acknowledged",
    ),
});

const BASE = '/api/v1/clusters/:cluster/hosts';

export function hostRoutes(hosts: HostsService) {
  return [
    route({
      method: 'get',
      path: BASE,
      summary: 'List the hosts of a cluster by hostname (paged)',
      query: z.object({ ...PageQuery }),
      status: 200,
      response: z.object({ hosts: z.array(HostView), nextCursor: NextCursor }),
      handler: ({ params, query }) => hosts.list(params.cluster!, query),
    }),
    route({
      method: 'get',
      path: `${BASE}/:host`,
      summary: 'Show a host with its facts and status',
      status: 200,
      response: HostView,
      handler: ({ params }) => hosts.get(params.cluster!, params.host!),
    }),
    route({
      method: 'post',
      path: BASE,
      summary: `Add hosts (ranges such as node[1-3]; at most SOPHON_MAX_HOSTS_PER_REQUEST, default 1000) and bootstrap them`,
      body: AddHostsBody,
      idempotent: true,
      status: 202,
      response: z.object({
        operation: OperationView,
        hosts: z.array(z.object({ id: z.uuid(), hostname: z.string(), address: z.string(), status: z.literal('PENDING') })),
      }),
      handler: ({ req, params, body }) => hosts.add(params.cluster!, body, requesterOf(req)),
    }),
    route({
      method: 'patch',
      path: `${BASE}/:host`,
      summary: 'Change labels or maintenance mode (at least one of them)',
      body: PatchHostBody,
      status: 200,
      response: HostView,
      handler: ({ req, params, body }) => hosts.update(params.cluster!, params.host!, body, who(req)),
    }),
    route({
      method: 'delete',
      path: `${BASE}/:host`,
      summary: 'Remove a host that runs no service instances',
      status: 204,
      handler: ({ req, params }) => hosts.remove(params.cluster!, params.host!, who(req)),
    }),
    // After an intended host key change (reinstall): forget the pin and bootstrap again, which
    // pins the key the host presents now. Admin only: it overrides an impersonation warning.
    route({
      method: 'post',
      path: `${BASE}/:host/repin-host-key`,
      summary: 'Forget the pinned host key and bootstrap again (accepts a changed host key)',
      role: 'admin',
      idempotent: true,
      status: 202,
      response: z.object({ operation: OperationView }),
      handler: ({ req, params }) => hosts.repinHostKey(params.cluster!, params.host!, requesterOf(req)),
    }),
  ];
}

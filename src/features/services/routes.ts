/** HTTP routes of services (see src/platform/http/registry.ts): parse, then delegate to the services service. */
import { z } from 'zod';
import { safeText } from '../../platform/validation.js';
import { SERVICE_ACTIONS } from './types.js';
import { requesterOf } from '../../platform/http/idempotency.js';
import { route } from '../../platform/http/registry.js';
import { OperationView } from '../operations/routes.js';
import { MaintenanceUntil, Timestamp } from '../../platform/http/schemas.js';
import type { ServicesService } from './service.js';
import { finished } from 'node:stream/promises';
import { clientConfigArchive } from './client-config.js';

const NAME = safeText().min(1).max(253);
const NAME_LIST = z.array(NAME).max(1000);

export const DeployServiceBody = z.strictObject({
  service: NAME.describe('a service definition of the catalog (GET /api/v1/service-defs)'),
  version: NAME.optional().describe("one of the definition's versions; its default when absent"),
  placement: z.record(NAME, NAME_LIST).describe('role → hostnames, in order (the order gives instance ids)'),
  config: z
    .record(NAME, z.union([z.string().max(4096), z.number(), z.boolean()]))
    .optional()
    .describe('parameter → value; defaults fill the rest'),
});

export const ServiceActionBody = z.strictObject({
  action: z.enum(SERVICE_ACTIONS, { error: `expected one of ${SERVICE_ACTIONS.join(', ')}` }),
  roles: NAME_LIST.optional().describe('only instances of these roles'),
  hosts: NAME_LIST.optional().describe('only instances on these hosts'),
  rolling: z
    .strictObject({
      batchSize: z.number().int().min(1).max(1000).optional(),
      maxFailures: z.number().int().min(0).max(1000).optional(),
      pauseSeconds: z.number().int().min(0).max(3600).optional(),
    })
    .optional()
    .describe("batch by batch in the definition's order; missing fields come from the definition"),
});

export const ScaleServiceBody = z.strictObject({
  role: NAME.describe("the role to scale (one of the definition's roles)"),
  add: NAME_LIST.optional().describe('hosts of the cluster to add to the role'),
  remove: NAME_LIST.optional().describe('hosts of the role to remove from it'),
});

export const UpgradeServiceBody = z.strictObject({
  version: NAME.describe("one of the definition's versions (GET /api/v1/service-defs/:name); older than the installed one for a downgrade"),
  batchSize: z.number().int().min(1).max(1000).optional().describe('instances upgraded at once; the definition says when absent'),
  maxFailures: z.number().int().min(0).max(1000).optional().describe('failed instances tolerated before the operation holds'),
  pauseSeconds: z.number().int().min(0).max(3600).optional().describe('pause between batches'),
});

export const PatchServiceBody = z
  .strictObject({
    maintenance: MaintenanceUntil.nullable()
      .optional()
      .describe("maintenance until a time: the service's alerts notify no one until then (but are recorded); null ends it"),
    autoRecovery: z
      .strictObject({
        enabled: z.boolean().optional().describe('restart instances that should run but are seen down'),
        maxPerHour: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .optional()
          .describe('restarts per instance in any hour before it is left down and alerted (default 6)'),
      })
      .optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'expected at least one field')
  .meta({ minProperties: 1 });

const Started = z.object({ operation: OperationView });
const Ports = z.record(z.string(), z.number().int());

export const ServiceSummary = z.object({
  id: z.uuid(),
  cluster: z.string(),
  name: z.string(),
  version: z.string().nullable().describe('installed everywhere; null until the first deploy completes'),
  targetVersion: z.string(),
  status: z.enum(['DEPLOYING', 'ACTIVE', 'FAILED', 'REMOVING']),
  configVersion: z.number().int(),
  autoRecovery: z.object({ enabled: z.boolean(), maxPerHour: z.number().int() }),
  maintenance: z.boolean().describe('in maintenance now (maintenanceUntil is in the future)'),
  maintenanceUntil: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const Instance = z.object({
  id: z.uuid(),
  role: z.string(),
  host: z.string(),
  address: z.string(),
  version: z.string().nullable(),
  configVersion: z.number().int().nullable(),
  stale: z.boolean().describe("runs an older config version than the service's (files or a restart pending)"),
  group: z.string().nullable().describe("the role group of the service's config version that lists it (its values override the service's)"),
  desiredState: z.enum(['RUNNING', 'STOPPED']),
  observedState: z.enum(['UNKNOWN', 'RUNNING', 'STOPPED', 'FAILED']),
  statusReason: z.string().nullable(),
  observedAt: Timestamp.nullable().describe('when an operation step or the poll last observed the instance'),
  ports: Ports,
});

export const ServiceDetail = ServiceSummary.extend({
  health: z.record(z.string(), z.number().int()).describe('instances by observed state, e.g. {"RUNNING": 3, "STOPPED": 1}'),
  openAlerts: z.number().int().describe('alerts of the service firing or acknowledged'),
  instances: z.array(Instance),
});

const BASE = '/api/v1/clusters/:cluster/services';

export function serviceRoutes(services: ServicesService) {
  return [
    route({
      method: 'get',
      path: BASE,
      summary: 'List the services deployed in a cluster',
      status: 200,
      response: z.object({ services: z.array(ServiceSummary) }),
      handler: async ({ params }) => ({ services: await services.list(params.cluster!) }),
    }),
    route({
      method: 'post',
      path: BASE,
      summary: 'Deploy a service: validated whole first, then installed, configured and started host by host',
      body: DeployServiceBody,
      idempotent: true,
      status: 202,
      response: Started,
      handler: ({ req, params, body }) => services.deploy(params.cluster!, body, requesterOf(req)),
    }),
    route({
      method: 'get',
      path: `${BASE}/:service`,
      summary: 'Show a service with its instances: versions, desired and observed state, ports',
      status: 200,
      response: z.object({ service: ServiceDetail }),
      handler: async ({ params }) => ({ service: await services.get(params.cluster!, params.service!) }),
    }),
    route({
      method: 'patch',
      path: `${BASE}/:service`,
      summary:
        'Change settings of a service: maintenance until a time (or none: null), auto-recovery (enabled, restarts per instance per hour)',
      body: PatchServiceBody,
      status: 200,
      response: z.object({ service: ServiceDetail }),
      handler: async ({ req, params, body }) => ({
        service: await services.patch(
          params.cluster!,
          params.service!,
          { maintenance: body.maintenance && { until: new Date(body.maintenance.until) }, autoRecovery: body.autoRecovery },
          requesterOf(req),
        ),
      }),
    }),
    route({
      method: 'post',
      path: `${BASE}/:service/actions`,
      summary: 'Start, stop or restart a service (or some roles or hosts), optionally rolling',
      body: ServiceActionBody,
      idempotent: true,
      status: 202,
      response: Started,
      handler: ({ req, params, body }) => services.action(params.cluster!, params.service!, body, requesterOf(req)),
    }),
    route({
      method: 'post',
      path: `${BASE}/:service/scale`,
      summary:
        "Add hosts to a role or remove them; peers listing the members are re-rendered and rolled (the definition's membership rule)",
      body: ScaleServiceBody,
      idempotent: true,
      status: 202,
      response: Started,
      handler: ({ req, params, body }) => services.scale(params.cluster!, params.service!, body, requesterOf(req)),
    }),
    route({
      method: 'post',
      path: `${BASE}/:service/upgrade`,
      summary:
        "Upgrade (or downgrade) a service to another version, rolling in the definition's order after pre-checks; " +
        'the operation ends at once with result.nothingToDo when every instance runs that version already',
      body: UpgradeServiceBody,
      idempotent: true,
      status: 202,
      response: Started,
      handler: ({ req, params, body }) => services.upgrade(params.cluster!, params.service!, body, requesterOf(req)),
    }),
    route({
      method: 'delete',
      path: `${BASE}/:service`,
      summary:
        'Remove a service: stop it, delete its files under the install roots and its inventory (refused while another service depends on it)',
      idempotent: true,
      status: 202,
      response: Started,
      handler: ({ req, params }) => services.remove(params.cluster!, params.service!, requesterOf(req)),
    }),
    route({
      method: 'get',
      path: `${BASE}/:service/client-config`,
      summary:
        "Client configuration for an edge node: the files of the service's client role (e.g. core-site.xml, hdfs-site.xml) as a gzipped tarball, rendered from the current placement and config version",
      status: 200,
      produces: 'application/gzip',
      handler: async ({ res, params }) => {
        const files = await services.clientConfig(params.cluster!, params.service!);
        const archive = await clientConfigArchive(files);
        res.status(200).type('application/gzip').attachment(`${params.service}-client-config.tar.gz`);
        archive.pipe(res);
        await finished(res);
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/clusters/:cluster/discovery/:service',
      summary: 'Live endpoints of a service per role (service discovery)',
      status: 200,
      response: z.object({
        service: z.string(),
        cluster: z.string(),
        version: z.string().nullable(),
        roles: z.record(z.string(), z.array(z.object({ host: z.string(), address: z.string(), ports: Ports, observedState: z.string() }))),
      }),
      handler: ({ params }) => services.discovery(params.cluster!, params.service!),
    }),
  ];
}

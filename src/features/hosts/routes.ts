import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import { inTransaction, type Pool, type PoolClient } from '../../platform/db/pool.js';
import { auditRepo } from '../audit/repo.js';
import { clustersRepo, type Cluster } from '../clusters/repo.js';
import { credentialsRepo } from '../credentials/repo.js';
import { HOST_STATUSES, hostsRepo, type Host, type NewHost } from './repo.js';
import { conflict, notFound } from '../../platform/errors.js';
import { countHostSpec, duplicates, expandHostSpec } from './ranges.js';
import type { StartOperation } from '../operations/service.js';
import { metricsRepo, type HostHealth } from '../monitoring/repo.js';
import { invalidField, safeText } from '../../platform/validation.js';
import { hostWorkflowIds } from './types.js';
import { actorOf } from '../../platform/http/auth.js';
import type { ApiDeps } from '../../platform/http/deps.js';
import { decodeCursor, pageOf, PageQuery } from '../../platform/http/paging.js';
import { route } from '../../platform/http/registry.js';
import { MaintenanceUntil, NextCursor, Timestamp } from '../../platform/http/schemas.js';
import { idempotencyOf } from '../../platform/http/idempotency.js';
import { OperationView } from '../operations/routes.js';

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

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

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
    .describe("the host's role instances by their latest `up` (see GET .../metrics), when the poll last saw them, and its alerts firing or acknowledged"),
});

/** The API view of a host: no credential material, only its name. */
const view = (h: Host, health: Map<string, HostHealth>) => ({
  id: h.id,
  cluster: h.clusterName,
  hostname: h.hostname,
  address: h.address,
  port: h.port,
  credential: h.credentialName,
  installRoot: h.installRoot,
  labels: h.labels,
  status: h.status,
  statusReason: h.statusReason,
  maintenance: h.maintenance || (h.maintenanceUntil !== null && h.maintenanceUntil.getTime() > Date.now()),
  maintenanceUntil: h.maintenanceUntil,
  hostKeyFingerprint: h.hostKeyFingerprint,
  facts: h.facts,
  lastSeenAt: h.lastSeenAt,
  createdAt: h.createdAt,
  // hostHealth answers every host it is asked for (zeros when nothing is known).
  health: health.get(h.hostname)!,
});

async function clusterOf(db: Pool | PoolClient, idOrName: string): Promise<Cluster> {
  const cluster = await clustersRepo(db).find(idOrName);
  if (!cluster) throw notFound('Cluster', idOrName);
  return cluster;
}

/** The host of the request, row-locked until the transaction ends (or a 404). */
async function lockedHost(tx: PoolClient, clusterParam: string, hostParam: string): Promise<Host> {
  const cluster = await clusterOf(tx, clusterParam);
  const host = await hostsRepo(tx).find(cluster.id, hostParam, { lock: true });
  if (!host) throw notFound('Host', `${cluster.name}/${hostParam}`);
  return host;
}

const BASE = '/api/v1/clusters/:cluster/hosts';

export function hostRoutes({ config, pool, operations }: ApiDeps) {
  const hosts = hostsRepo(pool);

  // The workflow reads its hosts from operation_hosts, which `prepare` fills.
  function startBootstrap<A extends Record<string, unknown>>(cluster: Cluster, req: Request, prepare: NonNullable<StartOperation['prepare']>, answer: A) {
    return operations.start({
      type: 'hosts.bootstrap',
      workflowType: 'bootstrapHostsWorkflow',
      workflowId: (opId) => hostWorkflowIds.bootstrapHosts(cluster.name, opId),
      args: (opId) => ({ operationId: opId, cluster: cluster.name }),
      cluster: { id: cluster.id, name: cluster.name },
      requestedBy: actorOf(req),
      requestId: String(req.id),
      prepare,
      idempotency: idempotencyOf(req),
      answer,
    });
  }

  /** Checks and expands the requested hosts; sizes are counted before anything is expanded. */
  async function expand(cluster: Cluster, body: z.output<typeof AddHostsBody>): Promise<NewHost[]> {
    const max = config.api.maxHostsPerRequest;
    let total = 0;
    for (const [i, spec] of body.hosts.entries()) {
      total += countHostSpec(spec.hostname, spec.address, `hosts.${i}`);
      if (total > max) throw invalidField('hosts', `expected at most ${max} hosts per request (SOPHON_MAX_HOSTS_PER_REQUEST); add them in several requests`);
    }
    const credentials = new Map<string, string | undefined>();
    const expanded: NewHost[] = [];
    for (const [i, spec] of body.hosts.entries()) {
      if (!credentials.has(spec.credential)) credentials.set(spec.credential, (await credentialsRepo(pool).find(spec.credential))?.id);
      const credentialId = credentials.get(spec.credential);
      if (!credentialId) throw invalidField(`hosts.${i}.credential`, `no credential '${spec.credential}'`);
      for (const { hostname, address } of expandHostSpec(spec.hostname, spec.address, `hosts.${i}`)) {
        for (const [field, value] of [['hostname', hostname], ['address', address]] as const) {
          if (!HOST_NAME.test(value)) {
            throw invalidField(`hosts.${i}.${field}`, `expected a host name or IP address (letters, digits, ".", "-"), got "${value}"`);
          }
        }
        expanded.push({ id: randomUUID(), clusterId: cluster.id, hostname, address, port: spec.port, credentialId, installRoot: spec.installRoot, labels: spec.labels });
      }
    }
    const repeated = duplicates(expanded.map((h) => h.hostname));
    if (repeated.length) throw invalidField('hosts', `${repeated.slice(0, 20).join(', ')} named more than once`);
    return expanded;
  }

  return [
    route({
      method: 'get',
      path: BASE,
      summary: 'List the hosts of a cluster by hostname (paged)',
      query: z.object({ ...PageQuery }),
      status: 200,
      response: z.object({ hosts: z.array(HostView), nextCursor: NextCursor }),
      handler: async ({ params, query }) => {
        const cluster = await clusterOf(pool, params.cluster!);
        const after = decodeCursor(query.cursor, z.string().max(253));
        const { items, nextCursor } = pageOf(await hosts.list(cluster.id, { limit: query.limit, after }), query.limit, (h) => h.hostname);
        const health = await metricsRepo(pool).hostHealth(cluster.id, items.map((h) => h.hostname));
        return { hosts: items.map((h) => view(h, health)), nextCursor };
      },
    }),
    route({
      method: 'get',
      path: `${BASE}/:host`,
      summary: 'Show a host with its facts and status',
      status: 200,
      response: HostView,
      handler: async ({ params }) => {
        const cluster = await clusterOf(pool, params.cluster!);
        const host = await hosts.find(cluster.id, params.host!);
        if (!host) throw notFound('Host', `${cluster.name}/${params.host}`);
        return view(host, await metricsRepo(pool).hostHealth(cluster.id, [host.hostname]));
      },
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
      handler: async ({ req, params, body }) => {
        const cluster = await clusterOf(pool, params.cluster!);
        if (cluster.status !== 'ACTIVE') throw conflict(`Cluster ${cluster.name} is ${cluster.status}; hosts can be added once it is ACTIVE`);
        const expanded = await expand(cluster, body);
        return startBootstrap(
          cluster,
          req,
          async (tx, opId) => {
            const clashes = await hostsRepo(tx).insertMany(expanded, opId);
            if (clashes.length) throw conflict(`Cluster ${cluster.name} already has ${clashes.slice(0, 20).join(', ')}`);
          },
          { hosts: expanded.map((h) => ({ id: h.id, hostname: h.hostname, address: h.address, status: 'PENDING' as const })) },
        );
      },
    }),
    route({
      method: 'patch',
      path: `${BASE}/:host`,
      summary: 'Change labels or maintenance mode (at least one of them)',
      body: PatchHostBody,
      status: 200,
      response: HostView,
      handler: ({ req, params, body }) =>
        inTransaction(pool, async (tx) => {
          const host = await lockedHost(tx, params.cluster!, params.host!);
          const { labels, maintenance } = body;
          await hostsRepo(tx).update(host.id, { labels, maintenance: typeof maintenance === 'object' ? { until: new Date(maintenance.until) } : maintenance });
          await auditRepo(tx).record({ actor: actorOf(req), action: 'host.update', target: `${host.clusterName}/${host.hostname}`, requestId: String(req.id), details: body });
          return view((await hostsRepo(tx).get(host.id))!, await metricsRepo(tx).hostHealth(host.clusterId, [host.hostname]));
        }),
    }),
    route({
      method: 'delete',
      path: `${BASE}/:host`,
      summary: 'Remove a host that runs no service instances',
      status: 204,
      handler: ({ req, params }) =>
        inTransaction(pool, async (tx) => {
          const host = await lockedHost(tx, params.cluster!, params.host!);
          if (host.status === 'BOOTSTRAPPING') throw bootstrapping(host.hostname);
          const instances = await hostsRepo(tx).instancesOn(host.id);
          if (instances.length) {
            throw conflict(`Host ${host.hostname} still runs ${instances.map((i) => `${i.service}/${i.role}`).join(', ')}; remove or move them first`);
          }
          await hostsRepo(tx).remove(host.id);
          await auditRepo(tx).record({ actor: actorOf(req), action: 'host.delete', target: `${host.clusterName}/${host.hostname}`, requestId: String(req.id) });
        }),
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
      handler: async ({ req, params }) => {
        const cluster = await clusterOf(pool, params.cluster!);
        return startBootstrap(cluster, req, async (tx, opId) => {
          const host = await hostsRepo(tx).find(cluster.id, params.host!);
          if (!host) throw notFound('Host', `${cluster.name}/${params.host}`);
          // The claim is taken in the transaction that records the operation: one bootstrap per host.
          if (!(await hostsRepo(tx).claimForBootstrap(host.id, opId, { forgetHostKey: true }))) throw bootstrapping(host.hostname);
          await auditRepo(tx).record({ actor: actorOf(req), action: 'host.repin', target: `${cluster.name}/${host.hostname}`, requestId: String(req.id), details: { previous: host.hostKeyFingerprint } });
        }, {});
      },
    }),
  ];
}

/** One bootstrap at a time per host: a second one would race the first over the pinned key. */
const bootstrapping = (hostname: string) =>
  conflict(`Host ${hostname} is being bootstrapped; wait for that operation to finish or cancel it`);

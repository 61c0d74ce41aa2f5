/**
 * Hosts of a cluster, behind the routes: added hosts are expanded from ranges and checked
 * (size, credential, names, duplicates) before anything is recorded, then bootstrapped by one
 * operation; changes lock the host row and are audited; one bootstrap at a time per host.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { inTransaction, type Pool, type PoolClient } from '../../platform/db/pool.js';
import { conflict, notFound } from '../../platform/errors.js';
import type { Who } from '../../platform/http/auth.js';
import { decodeCursor, pageOf } from '../../platform/http/paging.js';
import type { Config } from '../../platform/settings.js';
import { invalidField } from '../../platform/validation.js';
import { auditRepo } from '../audit/repo.js';
import { findCluster, type Cluster } from '../clusters/repo.js';
import { credentialsRepo } from '../credentials/repo.js';
import { metricsRepo, type HostHealth } from '../monitoring/repo.js';
import type { OperationsService, StartOperation } from '../operations/service.js';
import type { Requester } from '../../platform/http/idempotency.js';
import { countHostSpec, duplicates, expandHostSpec } from './ranges.js';
import { hostsRepo, type Host, type NewHost } from './repo.js';
import { hostWorkflowIds } from './types.js';

/** Hosts to add: a hostname (and address) may be a range like node[1-3]. */
export interface AddHostsRequest {
  hosts: {
    hostname: string;
    address?: string | undefined;
    port: number;
    credential: string;
    installRoot: string;
    labels: Record<string, string>;
  }[];
}

/** Fields a PATCH of a host may change; absent ones stay as they are. A type, so the audit entry can carry it as details. */
export type HostPatch = {
  labels?: Record<string, string> | undefined;
  /** true: until turned off; {until}: until that time; false: no maintenance. */
  maintenance?: boolean | { until: string } | undefined;
};

export type HostsService = ReturnType<typeof createHostsService>;

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

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

/** The host of the request, row-locked until the transaction ends (or a 404). */
async function lockedHost(tx: PoolClient, clusterRef: string, hostRef: string): Promise<Host> {
  const cluster = await findCluster(tx, clusterRef);
  const host = await hostsRepo(tx).find(cluster.id, hostRef, { lock: true });
  if (!host) throw notFound('Host', `${cluster.name}/${hostRef}`);
  return host;
}

/** One bootstrap at a time per host: a second one would race the first over the pinned key. */
const bootstrapping = (hostname: string) =>
  conflict(`Host ${hostname} is being bootstrapped; wait for that operation to finish or cancel it`);

export function createHostsService({
  config,
  pool,
  operations,
}: {
  config: Pick<Config, 'api'>;
  pool: Pool;
  operations: OperationsService;
}) {
  const hosts = hostsRepo(pool);

  // The workflow reads its hosts from operation_hosts, which `prepare` fills.
  function startBootstrap<A extends Record<string, unknown>>(
    cluster: Cluster,
    who: Requester,
    prepare: NonNullable<StartOperation['prepare']>,
    answer: A,
  ) {
    return operations.start({
      type: 'hosts.bootstrap',
      workflowType: 'bootstrapHostsWorkflow',
      workflowId: (opId) => hostWorkflowIds.bootstrapHosts(cluster.name, opId),
      args: (opId) => ({ operationId: opId, cluster: cluster.name }),
      cluster: { id: cluster.id, name: cluster.name },
      requestedBy: who.actor,
      requestId: who.requestId,
      prepare,
      idempotency: who.idempotency,
      answer,
    });
  }

  /** Checks and expands the requested hosts; sizes are counted before anything is expanded. */
  async function expand(cluster: Cluster, req: AddHostsRequest): Promise<NewHost[]> {
    const max = config.api.maxHostsPerRequest;
    let total = 0;
    for (const [i, spec] of req.hosts.entries()) {
      total += countHostSpec(spec.hostname, spec.address, `hosts.${i}`);
      if (total > max)
        throw invalidField(
          'hosts',
          `expected at most ${max} hosts per request (SOPHON_MAX_HOSTS_PER_REQUEST); add them in several requests`,
        );
    }
    const credentials = new Map<string, string | undefined>();
    const expanded: NewHost[] = [];
    for (const [i, spec] of req.hosts.entries()) {
      if (!credentials.has(spec.credential)) credentials.set(spec.credential, (await credentialsRepo(pool).find(spec.credential))?.id);
      const credentialId = credentials.get(spec.credential);
      if (!credentialId) throw invalidField(`hosts.${i}.credential`, `no credential '${spec.credential}'`);
      for (const { hostname, address } of expandHostSpec(spec.hostname, spec.address, `hosts.${i}`)) {
        for (const [field, value] of [
          ['hostname', hostname],
          ['address', address],
        ] as const) {
          if (!HOST_NAME.test(value)) {
            throw invalidField(`hosts.${i}.${field}`, `expected a host name or IP address (letters, digits, ".", "-"), got "${value}"`);
          }
        }
        expanded.push({
          id: randomUUID(),
          clusterId: cluster.id,
          hostname,
          address,
          port: spec.port,
          credentialId,
          installRoot: spec.installRoot,
          labels: spec.labels,
        });
      }
    }
    const repeated = duplicates(expanded.map((h) => h.hostname));
    if (repeated.length) throw invalidField('hosts', `${repeated.slice(0, 20).join(', ')} named more than once`);
    return expanded;
  }

  return {
    /** A page of the cluster's hosts by hostname; the cursor is the last hostname of the previous page. */
    async list(clusterRef: string, page: { limit: number; cursor?: string | undefined }) {
      const cluster = await findCluster(pool, clusterRef);
      const after = decodeCursor(page.cursor, z.string().max(253));
      const { items, nextCursor } = pageOf(await hosts.list(cluster.id, { limit: page.limit, after }), page.limit, (h) => h.hostname);
      const health = await metricsRepo(pool).hostHealth(
        cluster.id,
        items.map((h) => h.hostname),
      );
      return { hosts: items.map((h) => view(h, health)), nextCursor };
    },

    async get(clusterRef: string, hostRef: string) {
      const cluster = await findCluster(pool, clusterRef);
      const host = await hosts.find(cluster.id, hostRef);
      if (!host) throw notFound('Host', `${cluster.name}/${hostRef}`);
      return view(host, await metricsRepo(pool).hostHealth(cluster.id, [host.hostname]));
    },

    async add(clusterRef: string, req: AddHostsRequest, who: Requester) {
      const cluster = await findCluster(pool, clusterRef);
      if (cluster.status !== 'ACTIVE') throw conflict(`Cluster ${cluster.name} is ${cluster.status}; hosts can be added once it is ACTIVE`);
      const expanded = await expand(cluster, req);
      return startBootstrap(
        cluster,
        who,
        async (tx, opId) => {
          const clashes = await hostsRepo(tx).insertMany(expanded, opId);
          if (clashes.length) throw conflict(`Cluster ${cluster.name} already has ${clashes.slice(0, 20).join(', ')}`);
        },
        { hosts: expanded.map((h) => ({ id: h.id, hostname: h.hostname, address: h.address, status: 'PENDING' as const })) },
      );
    },

    update: (clusterRef: string, hostRef: string, patch: HostPatch, who: Who) =>
      inTransaction(pool, async (tx) => {
        const host = await lockedHost(tx, clusterRef, hostRef);
        const { labels, maintenance } = patch;
        await hostsRepo(tx).update(host.id, {
          labels,
          maintenance: typeof maintenance === 'object' ? { until: new Date(maintenance.until) } : maintenance,
        });
        await auditRepo(tx).record({
          actor: who.actor,
          action: 'host.update',
          target: `${host.clusterName}/${host.hostname}`,
          requestId: who.requestId,
          details: patch,
        });
        return view((await hostsRepo(tx).get(host.id))!, await metricsRepo(tx).hostHealth(host.clusterId, [host.hostname]));
      }),

    /** Removes a host that runs no service instances and is not being bootstrapped. */
    remove: (clusterRef: string, hostRef: string, who: Who) =>
      inTransaction(pool, async (tx) => {
        const host = await lockedHost(tx, clusterRef, hostRef);
        if (host.status === 'BOOTSTRAPPING') throw bootstrapping(host.hostname);
        const instances = await hostsRepo(tx).instancesOn(host.id);
        if (instances.length) {
          throw conflict(
            `Host ${host.hostname} still runs ${instances.map((i) => `${i.service}/${i.role}`).join(', ')}; remove or move them first`,
          );
        }
        await hostsRepo(tx).remove(host.id);
        await auditRepo(tx).record({
          actor: who.actor,
          action: 'host.delete',
          target: `${host.clusterName}/${host.hostname}`,
          requestId: who.requestId,
        });
      }),

    /** Forgets the pinned host key and bootstraps again, which pins the key the host presents now. */
    async repinHostKey(clusterRef: string, hostRef: string, who: Requester) {
      const cluster = await findCluster(pool, clusterRef);
      return startBootstrap(
        cluster,
        who,
        async (tx, opId) => {
          const host = await hostsRepo(tx).find(cluster.id, hostRef);
          if (!host) throw notFound('Host', `${cluster.name}/${hostRef}`);
          // The claim is taken in the transaction that records the operation: one bootstrap per host.
          if (!(await hostsRepo(tx).claimForBootstrap(host.id, opId, { forgetHostKey: true }))) throw bootstrapping(host.hostname);
          await auditRepo(tx).record({
            actor: who.actor,
            action: 'host.repin',
            target: `${cluster.name}/${host.hostname}`,
            requestId: who.requestId,
            details: { previous: host.hostKeyFingerprint },
          });
        },
        {},
      );
    },
  };
}

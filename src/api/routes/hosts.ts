import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { auditRepo } from '../../db/repos/audit.js';
import { clustersRepo, type Cluster } from '../../db/repos/clusters.js';
import { credentialsRepo } from '../../db/repos/credentials.js';
import { hostsRepo, type Host, type NewHost } from '../../db/repos/hosts.js';
import { conflict, notFound } from '../../errors.js';
import { expandHostSpec } from '../../hosts/ranges.js';
import type { Pool } from '../../db/pool.js';
import type { StartOperation } from '../../operations/service.js';
import { invalidField, parseInput } from '../../validation.js';
import { workflowIds } from '../../../workflows/shared.js';
import { actorOf } from '../auth.js';
import { idempotencyOf } from '../idempotency.js';
import type { ApiDeps } from '../deps.js';

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const Labels = z.record(
  z.string().regex(LABEL_KEY, 'expected label keys of letters, digits, ".", "_", "/", "-" (at most 63)'),
  z.string().max(255, 'expected label values of at most 255 characters'),
);

const HostSpec = z.strictObject({
  hostname: z.string().min(1, 'expected a hostname or a range like node[1-3]').max(253),
  address: z.string().min(1).max(253).optional(),
  port: z.number().int().min(1).max(65535).default(22),
  credential: z.string().min(1, 'expected a credential id or name'),
  // Install paths end up in service commands, which take only plain words (see renderCommand).
  installRoot: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]*$/, 'expected an absolute path of letters, digits and . _ - /')
    .max(1024)
    .default('/opt/sophon'),
  labels: Labels.default({}),
});

export const AddHostsBody = z.strictObject({
  hosts: z.array(HostSpec).min(1, 'expected at least one host').max(1000, 'expected at most 1000 entries'),
});

export const PatchHostBody = z
  .strictObject({ labels: Labels.optional(), maintenance: z.boolean().optional() })
  .refine((b) => b.labels !== undefined || b.maintenance !== undefined, 'expected labels or maintenance');

const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** The API view of a host: no credential material, only its name. */
const view = (h: Host) => ({
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
  maintenance: h.maintenance,
  hostKeyFingerprint: h.hostKeyFingerprint,
  facts: h.facts,
  lastSeenAt: h.lastSeenAt,
  createdAt: h.createdAt,
});

/** One bootstrap at a time per host: a second one would race the first over the pinned key. */
function refuseWhileBootstrapping(host: Host) {
  if (host.status === 'BOOTSTRAPPING') {
    throw conflict(`Host ${host.hostname} is being bootstrapped; wait for that operation to finish or cancel it`);
  }
}

/** The `:cluster` segment of the parent route (merged params are not typed by Express). */
const clusterParam = (req: { params: object }) => (req.params as Record<string, string>).cluster ?? '';

async function clusterOf(pool: Pool, idOrName: string): Promise<Cluster> {
  const cluster = await clustersRepo(pool).find(idOrName);
  if (!cluster) throw notFound('Cluster', idOrName);
  return cluster;
}

export function hostRoutes({ pool, operations }: ApiDeps): Router {
  const router = Router({ mergeParams: true });
  const hosts = hostsRepo(pool);

  async function hostOf(clusterParam: string, hostParam: string) {
    const cluster = await clusterOf(pool, clusterParam);
    const host = await hosts.find(cluster.id, hostParam);
    if (!host) throw notFound('Host', `${cluster.name}/${hostParam}`);
    return { cluster, host };
  }

  function startBootstrap<A extends Record<string, unknown>>(
    cluster: Cluster,
    hostIds: string[],
    req: Request,
    prepare: StartOperation['prepare'],
    answer: A,
  ) {
    return operations.start({
      type: 'hosts.bootstrap',
      workflowType: 'bootstrapHostsWorkflow',
      workflowId: (opId) => workflowIds.bootstrapHosts(cluster.name, opId),
      args: (opId) => ({ operationId: opId, cluster: cluster.name, hostIds }),
      cluster: { id: cluster.id, name: cluster.name },
      requestedBy: actorOf(req),
      requestId: String(req.id),
      prepare,
      idempotency: idempotencyOf(req),
      answer,
    });
  }

  router.get('/', async (req, res) => {
    const cluster = await clusterOf(pool, clusterParam(req));
    res.json({ hosts: (await hosts.list(cluster.id)).map(view) });
  });

  router.get('/:host', async (req, res) => {
    res.json(view((await hostOf(clusterParam(req), req.params.host!)).host));
  });

  router.post('/', async (req, res) => {
    const cluster = await clusterOf(pool, clusterParam(req));
    if (cluster.status !== 'ACTIVE') throw conflict(`Cluster ${cluster.name} is ${cluster.status}; hosts can be added once it is ACTIVE`);
    const body = parseInput(AddHostsBody, req.body, 'request body');
    const credentials = credentialsRepo(pool);
    const expanded: NewHost[] = [];
    for (const [i, spec] of body.hosts.entries()) {
      const credential = await credentials.find(spec.credential);
      if (!credential) {
        throw invalidField(`hosts.${i}.credential`, `no credential '${spec.credential}'`);
      }
      for (const { hostname, address } of expandHostSpec(spec.hostname, spec.address, `hosts.${i}`)) {
        for (const [field, value] of [['hostname', hostname], ['address', address]] as const) {
          if (!HOST_NAME.test(value)) {
            throw invalidField(`hosts.${i}.${field}`, `expected a host name or IP address (letters, digits, ".", "-"), got "${value}"`);
          }
        }
        expanded.push({ id: randomUUID(), clusterId: cluster.id, hostname, address, port: spec.port, credentialId: credential.id, installRoot: spec.installRoot, labels: spec.labels });
      }
    }
    const names = expanded.map((h) => h.hostname);
    const repeated = names.filter((n, i) => names.indexOf(n) !== i);
    if (repeated.length) throw invalidField('hosts', `${[...new Set(repeated)].join(', ')} named more than once`);

    const answer = await startBootstrap(
      cluster,
      expanded.map((h) => h.id),
      req,
      async (tx) => {
        const clashes = await hostsRepo(tx).insertMany(expanded);
        if (clashes.length) throw conflict(`Cluster ${cluster.name} already has ${clashes.join(', ')}`);
      },
      { hosts: expanded.map((h) => ({ id: h.id, hostname: h.hostname, address: h.address, status: 'PENDING' })) },
    );
    res.status(202).json(answer);
  });

  router.patch('/:host', async (req, res) => {
    const { host } = await hostOf(clusterParam(req), req.params.host!);
    const body = parseInput(PatchHostBody, req.body, 'request body');
    await hosts.update(host.id, body);
    await auditRepo(pool).record({ actor: actorOf(req), action: 'host.update', target: `${host.clusterName}/${host.hostname}`, requestId: String(req.id), details: body });
    res.json(view((await hosts.get(host.id))!));
  });

  router.delete('/:host', async (req, res) => {
    const { host } = await hostOf(clusterParam(req), req.params.host!);
    refuseWhileBootstrapping(host);
    const instances = await hosts.instancesOn(host.id);
    if (instances.length) {
      throw conflict(
        `Host ${host.hostname} still runs ${instances.map((i) => `${i.service}/${i.role}`).join(', ')}; remove or move them first`,
      );
    }
    await hosts.remove(host.id);
    await auditRepo(pool).record({ actor: actorOf(req), action: 'host.delete', target: `${host.clusterName}/${host.hostname}`, requestId: String(req.id) });
    res.status(204).end();
  });

  // After an intended host key change (reinstall): forget the pin and bootstrap again,
  // which pins the key the host presents now.
  router.post('/:host/repin-host-key', async (req, res) => {
    const { cluster, host } = await hostOf(clusterParam(req), req.params.host!);
    const answer = await startBootstrap(
      cluster,
      [host.id],
      req,
      // Checked here, not before: a repeated request must get its first operation back while it runs.
      async (tx) => {
        refuseWhileBootstrapping((await hostsRepo(tx).get(host.id)) ?? host);
        await hostsRepo(tx).clearHostKey(host.id);
        await auditRepo(tx).record({ actor: actorOf(req), action: 'host.repin', target: `${cluster.name}/${host.hostname}`, details: { previous: host.hostKeyFingerprint } });
      },
      {},
    );
    res.status(202).json(answer);
  });
  return router;
}

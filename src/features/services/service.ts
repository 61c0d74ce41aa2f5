/**
 * The rules of service operations, behind the routes: a deployment is validated whole
 * (definition, version, parameters, placement) before anything is recorded; actions and
 * removals check what they touch; every mutation is one operation holding the service lock.
 */
import type { WorkflowInput, WorkflowName } from '../operations/types.js';
import { randomUUID } from 'node:crypto';
import { alertsRepo } from '../alerts/alerts-repo.js';
import { findCluster, type Cluster } from '../clusters/repo.js';
import { hostsRepo, javaVersionOf } from '../hosts/repo.js';
import { inTransaction, type Pool } from '../../platform/db/pool.js';
import { auditRepo } from '../audit/repo.js';
import { defaultVersion, resolveParameters, rolePorts, validatePlacement, type Catalog } from '../defs/index.js';
import type { Config } from '../../platform/settings.js';
import type { ServiceDefinition } from '../defs/schema.js';
import { conflict, notFound, SophonError } from '../../platform/errors.js';
import { createPackageRepository, packageFor } from '../packages/index.js';
import type { Requester } from '../../platform/http/idempotency.js';
import type { OperationsService } from '../operations/service.js';
import { invalidField } from '../../platform/validation.js';
import { serviceWorkflowIds, type RollingPolicy, type ServiceAction } from './types.js';
import { scaleWorkflowIds } from '../scale/types.js';
import { upgradeWorkflowIds } from '../upgrade/types.js';
import { groupOf, type RoleGroups } from '../config/groups.js';
import { servicesRepo, type InstanceRow, type ServiceRow } from './repo.js';
import { checkScale, type ScaleRequest } from '../scale/service.js';
import { clientConfigFiles } from './client-config.js';

export interface DeployRequest {
  service: string;
  version?: string;
  placement: Record<string, string[]>;
  config?: Record<string, unknown>;
}

export interface ActionRequest {
  action: ServiceAction;
  roles?: string[];
  hosts?: string[];
  rolling?: Partial<RollingPolicy>;
}

/** Fields a PATCH of a service may change; absent ones stay as they are. */
export interface ServicePatch {
  /** Maintenance until a time (alerts of the service mute until then); null ends it. */
  maintenance?: { until: Date } | null | undefined;
  /** Restart instances seen down (enabled), at most maxPerHour times per instance in any hour. */
  autoRecovery?: { enabled?: boolean | undefined; maxPerHour?: number | undefined } | undefined;
}

export interface UpgradeRequest {
  version: string;
  batchSize?: number;
  maxFailures?: number;
  pauseSeconds?: number;
}

export type ServicesService = ReturnType<typeof createServicesService>;

/** A service by cluster and service id or name; 404 naming what is missing. */
export async function findService(pool: Pool, clusterRef: string, serviceRef: string): Promise<{ cluster: Cluster; svc: ServiceRow }> {
  const cluster = await findCluster(pool, clusterRef);
  const svc = await servicesRepo(pool).find(cluster.id, serviceRef);
  if (!svc) throw notFound('Service', `${cluster.name}/${serviceRef}`);
  return { cluster, svc };
}

/** Starts an operation on one service of a cluster, holding the service lock, for who asked. */
export function startServiceOperation<W extends WorkflowName>(
  operations: OperationsService,
  cluster: Cluster,
  service: string,
  who: Requester,
  op: { type: string; workflowType: W; workflowId: (opId: string) => string; args: (opId: string) => WorkflowInput<W> },
  prepare?: Parameters<OperationsService['start']>[0]['prepare'],
) {
  return operations.start({
    ...op,
    cluster: { id: cluster.id, name: cluster.name },
    service,
    lock: { service },
    requestedBy: who.actor,
    requestId: who.requestId,
    idempotency: who.idempotency,
    ...(prepare ? { prepare } : {}),
  });
}

/**
 * Refuses (422) a deploy whose package the repository lacks for one of `archs`, as upgrade's
 * pre-check does, before anything is recorded. The index is read once, afresh: the
 * repository may have been built since the last deploy.
 */
async function requirePackages(location: string, def: ServiceDefinition, version: string, archs: string[]): Promise<void> {
  const repo = createPackageRepository(location);
  const index = await repo.index().catch((err: unknown) => {
    if (err instanceof SophonError) return undefined;
    throw err;
  });
  const fix = /^https?:\/\//i.test(repo.location)
    ? `publish it there (or point SOPHON_PACKAGE_REPO at a repository that holds it)`
    : `build the repository with \`npm run packages -- ${repo.location}\` (or point SOPHON_PACKAGE_REPO at one that holds it)`;
  const refuse = (message: string) => new SophonError('PACKAGE_MISSING', message, [{ path: 'version', message }]);
  const packages = def.versions.find((v) => v.version === version)?.packages ?? [];
  for (const arch of archs) {
    const file = packageFor(packages, arch)?.file;
    if (!file) throw refuse(`${def.name} ${version} has no package for ${arch} hosts (it has ${packages.map((p) => p.arch).join(', ')})`);
    if (!index)
      throw refuse(
        `${def.name} ${version} cannot be deployed: the package repository ${repo.location} has no readable index.json, so its package ${file} cannot be installed; ${fix}`,
      );
    if (!index.packages.some((e) => e.file === file))
      throw refuse(
        `${def.name} ${version} cannot be deployed: its package ${file} is not in the package repository ${repo.location}; ${fix}`,
      );
  }
}

export function createServicesService({
  pool,
  catalog,
  operations,
  config,
}: {
  pool: Pool;
  catalog: Catalog;
  operations: OperationsService;
  config: Pick<Config, 'packageRepo'>;
}) {
  const services = servicesRepo(pool);

  const clusterOf = (idOrName: string) => findCluster(pool, idOrName);

  const serviceOf = (clusterRef: string, serviceRef: string) => findService(pool, clusterRef, serviceRef);

  const instanceView = (i: InstanceRow, svc: ServiceRow, groups: RoleGroups) => ({
    id: i.id,
    role: i.role,
    host: i.hostname,
    address: i.address,
    version: i.version,
    configVersion: i.configVersion,
    group: groupOf(groups, i) ?? null,
    // Runs an older config version than the service's: files or a restart still pending.
    stale: i.configVersion !== null && i.configVersion < svc.configVersion,
    desiredState: i.desiredState,
    observedState: i.observedState,
    statusReason: i.statusReason,
    observedAt: i.observedAt,
    ports: i.ports,
  });

  const summary = (s: ServiceRow) => ({
    id: s.id,
    cluster: s.clusterName,
    name: s.name,
    version: s.version,
    targetVersion: s.targetVersion,
    status: s.status,
    configVersion: s.configVersion,
    autoRecovery: s.autoRecovery,
    maintenance: s.maintenanceUntil !== null && s.maintenanceUntil.getTime() > Date.now(),
    maintenanceUntil: s.maintenanceUntil,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  });

  return {
    async list(clusterRef: string) {
      const cluster = await clusterOf(clusterRef);
      return (await services.list(cluster.id)).map(summary);
    },

    async get(clusterRef: string, serviceRef: string) {
      const { svc } = await serviceOf(clusterRef, serviceRef);
      const instances = await services.instances(svc.id);
      const health: Record<string, number> = {};
      for (const i of instances) health[i.observedState] = (health[i.observedState] ?? 0) + 1;
      const openAlerts = (await alertsRepo(pool).openCounts(svc.clusterId)).get(svc.name) ?? 0;
      const { groups } = await services.configSet(svc.id, svc.configVersion);
      return { ...summary(svc), health, openAlerts, instances: instances.map((i) => instanceView(i, svc, groups)) };
    },

    async patch(clusterRef: string, serviceRef: string, patch: ServicePatch, who: Requester) {
      const { svc } = await serviceOf(clusterRef, serviceRef);
      await inTransaction(pool, async (tx) => {
        if (patch.maintenance !== undefined) await servicesRepo(tx).setMaintenanceUntil(svc.id, patch.maintenance?.until ?? null);
        if (patch.autoRecovery) await servicesRepo(tx).setAutoRecovery(svc.id, patch.autoRecovery);
        await auditRepo(tx).record({
          actor: who.actor,
          action: 'service.update',
          target: `${svc.clusterName}/${svc.name}`,
          requestId: who.requestId,
          details: { ...patch },
        });
      });
      return this.get(clusterRef, serviceRef);
    },

    /** The files of the service's client role, as an edge node needs them. */
    clientConfig: (clusterRef: string, serviceRef: string) => clientConfigFiles(pool, catalog, clusterRef, serviceRef),

    /** Live endpoints per role: what clients of the service connect to. */
    async discovery(clusterRef: string, serviceRef: string) {
      const { svc } = await serviceOf(clusterRef, serviceRef);
      const roles: Record<string, Array<{ host: string; address: string; ports: Record<string, number>; observedState: string }>> = {};
      for (const i of await services.instances(svc.id)) {
        (roles[i.role] ??= []).push({ host: i.hostname, address: i.address, ports: i.ports, observedState: i.observedState });
      }
      return { service: svc.name, cluster: svc.clusterName, version: svc.version, roles };
    },

    async deploy(clusterRef: string, req: DeployRequest, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const cluster = await clusterOf(clusterRef);
      if (cluster.status !== 'ACTIVE')
        throw conflict(`Cluster ${cluster.name} is ${cluster.status}; services can be deployed once it is ACTIVE`);
      if (!catalog.has(req.service)) {
        throw invalidField(
          'service',
          `no service definition '${req.service}'; known: ${catalog
            .list()
            .map((d) => d.name)
            .join(', ')}`,
        );
      }
      const def = catalog.get(req.service);
      const version = req.version ?? defaultVersion(def);
      if (!def.versions.some((v) => v.version === version)) {
        throw invalidField('version', `${def.name} has no version '${version}'; known: ${def.versions.map((v) => v.version).join(', ')}`);
      }
      const values = resolveParameters(def, req.config ?? {});
      const clusterHosts = await hostsRepo(pool).named(cluster.id, [...new Set(Object.values(req.placement).flat())]);
      const deployed = await services.list(cluster.id);
      const usedPorts = (await services.usedPorts(cluster.id)).flatMap((u) =>
        Object.values(u.ports).map((port) => ({ hostname: u.hostname, port, service: u.service, role: u.role })),
      );
      validatePlacement({
        definition: def,
        placement: req.placement,
        hosts: clusterHosts.map((h) => ({
          hostname: h.hostname,
          status: h.maintenance ? 'in MAINTENANCE' : h.status,
          javaVersion: javaVersionOf(h),
        })),
        deployedServices: deployed.filter((s) => s.status === 'ACTIVE').map((s) => s.name),
        usedPorts,
        params: values,
      });
      const archs = new Set(clusterHosts.map((h) => (h.facts as { arch?: string } | null)?.arch ?? 'x86_64'));
      await requirePackages(config.packageRepo, def, version, [...archs]);
      const hostIds = new Map(clusterHosts.map((h) => [h.hostname, h.id]));
      const instances = def.roles.flatMap((role) =>
        (req.placement[role.name] ?? []).map((hostname, idx) => ({
          id: randomUUID(),
          role: role.name,
          idx,
          hostId: hostIds.get(hostname)!,
          ports: rolePorts(def, role.name, values),
        })),
      );
      const serviceId = randomUUID();
      return startServiceOperation(
        operations,
        cluster,
        def.name,
        who,
        {
          type: 'service.deploy',
          workflowType: 'deployServiceWorkflow',
          workflowId: (opId) => serviceWorkflowIds.deployService(cluster.name, def.name, opId),
          args: (opId) => ({ operationId: opId, serviceId }),
        },
        async (tx, opId) => {
          const inserted = await servicesRepo(tx).insertDeployment({
            id: serviceId,
            clusterId: cluster.id,
            name: def.name,
            version,
            operationId: opId,
            values,
            author: who.actor,
            instances,
          });
          if (!inserted)
            throw conflict(`${def.name} is already deployed in cluster ${cluster.name}; change it with actions, config, scale or upgrade`);
        },
      );
    },

    async action(clusterRef: string, serviceRef: string, req: ActionRequest, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await serviceOf(clusterRef, serviceRef);
      if (svc.status === 'DEPLOYING' || svc.status === 'REMOVING')
        throw conflict(`${svc.name} is ${svc.status}; wait for that operation to end`);
      const def = catalog.get(svc.name);
      req.roles?.forEach((r, i) => {
        if (!def.roles.some((d) => d.name === r))
          throw invalidField(`roles.${i}`, `${svc.name} has no role '${r}'; its roles are ${def.roles.map((d) => d.name).join(', ')}`);
      });
      const placed = new Set((await services.instances(svc.id)).map((i) => i.hostname));
      req.hosts?.forEach((h, i) => {
        if (!placed.has(h)) throw invalidField(`hosts.${i}`, `${svc.name} has no instance on host '${h}'`);
      });
      return startServiceOperation(operations, cluster, svc.name, who, {
        type: `service.${req.action}`,
        workflowType: 'serviceActionWorkflow',
        workflowId: (opId) => serviceWorkflowIds.serviceAction(cluster.name, svc.name, req.action, opId),
        args: (opId) => ({ operationId: opId, serviceId: svc.id, ...req }),
      });
    },

    /** Adds or removes hosts of one role; the result is checked before anything is recorded. */
    async scale(clusterRef: string, serviceRef: string, req: ScaleRequest, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await serviceOf(clusterRef, serviceRef);
      const checked = await checkScale(pool, catalog, cluster, svc, req);
      return startServiceOperation(
        operations,
        cluster,
        svc.name,
        who,
        {
          type: 'service.scale',
          workflowType: 'scaleServiceWorkflow',
          workflowId: (opId) => scaleWorkflowIds.scaleService(cluster.name, svc.name, opId),
          args: (opId) => ({
            operationId: opId,
            serviceId: svc.id,
            role: req.role,
            add: checked.joining.map((i) => i.id),
            remove: checked.leaving,
          }),
        },
        (tx) => servicesRepo(tx).insertInstances(cluster.id, svc.name, svc.id, checked.joining),
      );
    },
    /**
     * Starts a rolling upgrade (or downgrade) to another of the definition's versions; the
     * operation itself checks hosts, health and packages before it changes anything, and
     * ends at once, saying so, when every instance runs `version` already.
     */
    async upgrade(clusterRef: string, serviceRef: string, req: UpgradeRequest, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await serviceOf(clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      if (!def.versions.some((v) => v.version === req.version)) {
        throw invalidField(
          'version',
          `${def.name} has no version '${req.version}'; known: ${def.versions.map((v) => v.version).join(', ')}`,
        );
      }
      if (svc.status !== 'ACTIVE') throw conflict(`${svc.name} is ${svc.status}; only an ACTIVE service can be upgraded`);
      const { version, ...rolling } = req;
      return startServiceOperation(
        operations,
        cluster,
        svc.name,
        who,
        {
          type: 'service.upgrade',
          workflowType: 'upgradeServiceWorkflow',
          workflowId: (opId) => upgradeWorkflowIds.upgradeService(cluster.name, svc.name, opId),
          args: (opId) => ({ operationId: opId, serviceId: svc.id, version, rolling }),
        },
        (tx) => servicesRepo(tx).setTargetVersion(svc.id, version),
      );
    },

    async remove(clusterRef: string, serviceRef: string, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await serviceOf(clusterRef, serviceRef);
      const dependents = (await services.list(cluster.id)).filter(
        (s) => s.id !== svc.id && catalog.has(s.name) && catalog.get(s.name).dependencies.includes(svc.name),
      );
      if (dependents.length) {
        throw conflict(
          `${dependents.map((s) => s.name).join(', ')} depend${dependents.length === 1 ? 's' : ''} on ${svc.name}; remove ${dependents.length === 1 ? 'it' : 'them'} first`,
        );
      }
      return startServiceOperation(operations, cluster, svc.name, who, {
        type: 'service.remove',
        workflowType: 'removeServiceWorkflow',
        workflowId: (opId) => serviceWorkflowIds.removeService(cluster.name, svc.name, opId),
        args: (opId) => ({ operationId: opId, serviceId: svc.id }),
      });
    },
  };
}

/**
 * Config versions of a service: the current values, the history, what two versions render to
 * differently on each instance, and changes (new values or an older version again), each an
 * immutable version applied by a reconfigure operation under the service lock.
 */
import { createTwoFilesPatch } from 'diff';
import type { Cluster } from '../clusters/repo.js';
import { hostsRepo } from '../hosts/repo.js';
import type { Pool } from '../../platform/db/pool.js';
import { defaultParams, resolveParameters, type Catalog, type ParameterValue, type ServiceDefinition } from '../defs/index.js';
import { conflict, notFound } from '../../platform/errors.js';
import type { OperationsService } from '../operations/service.js';
import { invalidField } from '../../platform/validation.js';
import { configWorkflowIds } from './types.js';
import { changesBetween, configRepo, type Changes, type ConfigVersionRow } from './repo.js';
import { renderInstanceFiles, sceneOf } from '../services/render.js';
import type { ServiceRow } from '../services/repo.js';
import { findService } from '../services/service.js';
import type { Requester } from '../../platform/http/idempotency.js';

export interface ConfigChangeRequest {
  values: Record<string, ParameterValue>;
  note?: string | undefined;
}

export type ConfigService = ReturnType<typeof createConfigService>;

/** Known parameters only: a definition may have dropped one since a version was written. */
function known(def: ServiceDefinition, values: Record<string, ParameterValue>) {
  return Object.fromEntries(Object.entries(values).filter(([name]) => def.parameters.some((p) => p.name === name)));
}

export function createConfigService({ pool, catalog, operations }: { pool: Pool; catalog: Catalog; operations: OperationsService }) {
  const configs = configRepo(pool);

  async function versionOf(svc: ServiceRow, version: number, field?: string): Promise<ConfigVersionRow> {
    const row = Number.isSafeInteger(version) ? await configs.get(svc.id, version) : undefined;
    if (row) return row;
    const message = `${svc.name} has no config version ${version}; the current one is ${svc.configVersion}`;
    throw field ? invalidField(field, message) : notFound('Config version', `${svc.clusterName}/${svc.name}/${version}`);
  }

  /** Records the new version and starts the reconfigure that applies it, all under the service lock. */
  function change(
    cluster: Cluster,
    svc: ServiceRow,
    who: Requester,
    values: Record<string, ParameterValue>,
    changes: Changes,
    note: string,
  ) {
    if (svc.status !== 'ACTIVE') throw conflict(`${svc.name} is ${svc.status}; its configuration can change once it is ACTIVE`);
    return operations.start({
      type: 'service.reconfigure',
      workflowType: 'reconfigureWorkflow',
      workflowId: (opId) => configWorkflowIds.reconfigure(cluster.name, svc.name, opId),
      args: (opId) => ({ operationId: opId, serviceId: svc.id, fromVersion: svc.configVersion }),
      cluster: { id: cluster.id, name: cluster.name },
      service: svc.name,
      lock: { service: svc.name },
      requestedBy: who.actor,
      requestId: who.requestId,
      idempotency: who.idempotency,
      prepare: async (tx, operationId) => {
        const { previous } = await configRepo(tx).append({ serviceId: svc.id, values, changes, author: who.actor, note, operationId });
        if (previous !== svc.configVersion)
          throw conflict(`${svc.name}'s configuration changed to version ${previous} meanwhile; look at it and send the change again`);
      },
    });
  }

  return {
    /** The current version's values, defaults filled in, and which of them are the defaults. */
    async get(clusterRef: string, serviceRef: string) {
      const { svc } = await findService(pool, clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      const row = await versionOf(svc, svc.configVersion);
      const defaults = defaultParams(def);
      const values = { ...defaults, ...known(def, row.values) };
      return {
        service: svc.name,
        version: row.version,
        values,
        defaults: Object.keys(values)
          .filter((name) => defaults[name] !== undefined && defaults[name] === values[name])
          .sort(),
        author: row.author,
        note: row.note,
        createdAt: row.createdAt,
      };
    },

    /** Newest first. */
    async versions(clusterRef: string, serviceRef: string, page: { limit: number; before?: number | undefined }) {
      const { svc } = await findService(pool, clusterRef, serviceRef);
      const rows = await configs.list(svc.id, { limit: page.limit + 1, before: page.before });
      return {
        versions: rows.slice(0, page.limit).map((v) => ({
          version: v.version,
          author: v.author,
          note: v.note,
          createdAt: v.createdAt,
          changes: v.changes,
          operationId: v.operationId,
        })),
        nextBefore: rows.length > page.limit ? rows[page.limit - 1]!.version : null,
      };
    },

    /** Per instance (or the one on `host`), a unified diff of each rendered file that differs between versions a and b. */
    async diff(clusterRef: string, serviceRef: string, a: number, b: number, host?: string) {
      const { svc } = await findService(pool, clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      const [from, to] = [await versionOf(svc, a), await versionOf(svc, b)];
      const scene = await sceneOf(pool, svc, def);
      const chosen = host === undefined ? scene.instances : scene.instances.filter((i) => i.hostname === host);
      if (chosen.length === 0) throw invalidField('host', `${svc.name} has no instance on host '${host}'`);
      const withDefaults = (v: ConfigVersionRow) => ({ ...defaultParams(def), ...known(def, v.values) });
      const instances = [];
      for (const inst of chosen) {
        const root = (await hostsRepo(pool).get(inst.hostId))?.installRoot;
        if (root === undefined) continue;
        const before = renderInstanceFiles(scene, inst, root, withDefaults(from));
        const after = renderInstanceFiles(scene, inst, root, withDefaults(to));
        const files = after
          .map((f) => ({ f, old: before.find((o) => o.path === f.path)?.content ?? '' }))
          .filter(({ f, old }) => old !== f.content)
          .map(({ f, old }) => ({
            path: f.path,
            diff: createTwoFilesPatch(f.path, f.path, old, f.content, `config version ${a}`, `config version ${b}`),
          }));
        if (files.length > 0) instances.push({ role: inst.role, host: inst.hostname, files });
      }
      return { from: a, to: b, changes: changesBetween(withDefaults(from), withDefaults(to)), instances };
    },

    /** New values over the current ones; a parameter behind a port cannot change here (the placement holds its ports). */
    async put(clusterRef: string, serviceRef: string, req: ConfigChangeRequest, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await findService(pool, clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      const current = resolveParameters(def, known(def, (await versionOf(svc, svc.configVersion)).values), 'values');
      const next = resolveParameters(def, { ...current, ...req.values }, 'values');
      for (const role of def.roles) {
        for (const port of role.ports) {
          if (port.parameter && next[port.parameter] !== current[port.parameter]) {
            throw invalidField(
              `values.${port.parameter}`,
              `'${port.parameter}' sets the ${role.name} port ${port.name}, which a reconfiguration cannot move; remove and deploy the service to change it`,
            );
          }
        }
      }
      return change(cluster, svc, who, next, changesBetween(current, next), req.note ?? '');
    },

    /** Renders the service's files again against what it reads now and rolls the instances whose files differ. */
    async refresh(clusterRef: string, serviceRef: string, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await findService(pool, clusterRef, serviceRef);
      if (svc.status !== 'ACTIVE') throw conflict(`${svc.name} is ${svc.status}; it can be refreshed once it is ACTIVE`);
      return operations.start({
        type: 'service.refresh',
        workflowType: 'refreshServiceWorkflow',
        workflowId: (opId) => configWorkflowIds.refresh(cluster.name, svc.name, opId),
        args: (opId) => ({ operationId: opId, serviceId: svc.id }),
        cluster: { id: cluster.id, name: cluster.name },
        service: svc.name,
        lock: { service: svc.name },
        requestedBy: who.actor,
        requestId: who.requestId,
        idempotency: who.idempotency,
      });
    },

    /** An older version's values again, as a new version. */
    async rollback(clusterRef: string, serviceRef: string, req: { version: number; note?: string | undefined }, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await findService(pool, clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      const target = await versionOf(svc, req.version, 'version');
      const current = resolveParameters(def, known(def, (await versionOf(svc, svc.configVersion)).values), 'values');
      const next = resolveParameters(def, known(def, target.values), 'version');
      return change(cluster, svc, who, next, changesBetween(current, next), req.note ?? `rollback to version ${req.version}`);
    },
  };
}

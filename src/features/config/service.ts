/**
 * Config versions of a service: the current values and role groups, the history, what two
 * versions render to differently on each instance, and changes (new values or groups, or an
 * older version again), each an immutable version applied by a reconfigure operation under the
 * service lock.
 */
import { createTwoFilesPatch } from 'diff';
import type { Cluster } from '../clusters/repo.js';
import { hostsRepo } from '../hosts/repo.js';
import type { Pool } from '../../platform/db/pool.js';
import { defaultParams, resolveParameters, type Catalog, type ParameterValue, type ServiceDefinition } from '../defs/index.js';
import { conflict, notFound, SophonError } from '../../platform/errors.js';
import type { OperationsService } from '../operations/service.js';
import { invalidField } from '../../platform/validation.js';
import { configWorkflowIds } from './types.js';
import { changesBetween, configRepo, type Changes, type ConfigVersionRow } from './repo.js';
import {
  configChanges,
  effectiveValues,
  groupsView,
  groupValues,
  knownGroups,
  portParameters,
  resolveGroups,
  type ConfigSet,
  type GroupInput,
} from './groups.js';
import { renderInstance, sceneOf } from '../services/render.js';
import { servicesRepo, type ServiceRow } from '../services/repo.js';
import { findService, startServiceOperation } from '../services/service.js';
import type { Requester } from '../../platform/http/idempotency.js';

export interface ConfigChangeRequest {
  values?: Record<string, ParameterValue> | undefined;
  /** Absent: the current version's groups stay; `{}`: none. */
  groups?: Record<string, GroupInput> | undefined;
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

  /** A version's values (defaults filled in; `field` reports values the definition no longer accepts) and groups. */
  function setOf(def: ServiceDefinition, row: ConfigVersionRow, field?: string): ConfigSet {
    const values =
      field === undefined ? { ...defaultParams(def), ...known(def, row.values) } : resolveParameters(def, known(def, row.values), field);
    return { values, groups: knownGroups(def, row.groups) };
  }

  /** Records the new version and starts the reconfigure that applies it, all under the service lock. */
  function change(cluster: Cluster, svc: ServiceRow, who: Requester, next: ConfigSet, changes: Changes, note: string) {
    if (svc.status !== 'ACTIVE') throw conflict(`${svc.name} is ${svc.status}; its configuration can change once it is ACTIVE`);
    return startServiceOperation(
      operations,
      cluster,
      svc.name,
      who,
      {
        type: 'service.reconfigure',
        workflowType: 'reconfigureWorkflow',
        workflowId: (opId) => configWorkflowIds.reconfigure(cluster.name, svc.name, opId),
        args: (opId) => ({ operationId: opId, serviceId: svc.id, fromVersion: svc.configVersion }),
      },
      async (tx, operationId) => {
        const { previous } = await configRepo(tx).append({ serviceId: svc.id, ...next, changes, author: who.actor, note, operationId });
        if (previous !== svc.configVersion)
          throw conflict(`${svc.name}'s configuration changed to version ${previous} meanwhile; look at it and send the change again`);
      },
    );
  }

  return {
    /**
     * The current version's values, defaults filled in, and which of them are the defaults; its
     * groups with the values their hosts run (hosts that left the service since are `departed`).
     */
    async get(clusterRef: string, serviceRef: string) {
      const { svc } = await findService(pool, clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      const row = await versionOf(svc, svc.configVersion);
      const defaults = defaultParams(def);
      const config = setOf(def, row);
      const { values } = config;
      const live = new Set((await servicesRepo(pool).instances(svc.id)).filter((i) => !i.leaving).map((i) => i.id));
      const groups = Object.fromEntries(
        Object.entries(config.groups).map(([name, g]) => [
          name,
          {
            role: g.role,
            hosts: g.hosts.filter((h) => live.has(h.instanceId)).map((h) => h.hostname),
            departed: g.hosts.filter((h) => !live.has(h.instanceId)).map((h) => h.hostname),
            values: g.values,
            effective: groupValues(config, name),
          },
        ]),
      );
      return {
        service: svc.name,
        version: row.version,
        values,
        defaults: Object.keys(values)
          .filter((name) => defaults[name] !== undefined && defaults[name] === values[name])
          .sort(),
        groups,
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
          groups: groupsView(v.groups),
          operationId: v.operationId,
        })),
        nextBefore: rows.length > page.limit ? rows[page.limit - 1]!.version : null,
      };
    },

    /**
     * Per instance (or the one on `host`) whose files or start command differ between versions a
     * and b, each with its group's values applied: a unified diff of each file, both start
     * commands, and which of its values change.
     */
    async diff(clusterRef: string, serviceRef: string, a: number, b: number, host?: string) {
      const { svc } = await findService(pool, clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      const [from, to] = [setOf(def, await versionOf(svc, a)), setOf(def, await versionOf(svc, b))];
      const scene = await sceneOf(pool, svc, def);
      const chosen = host === undefined ? scene.instances : scene.instances.filter((i) => i.hostname === host);
      if (chosen.length === 0) throw invalidField('host', `${svc.name} has no instance on host '${host}'`);
      const instances = [];
      for (const inst of chosen) {
        const root = (await hostsRepo(pool).get(inst.hostId))?.installRoot;
        if (root === undefined) continue;
        const [was, will] = [effectiveValues(from, inst), effectiveValues(to, inst)];
        const before = renderInstance(scene, inst, root, was);
        const after = renderInstance(scene, inst, root, will);
        const files = after.files
          .map((f) => ({ f, old: before.files.find((o) => o.path === f.path)?.content ?? '' }))
          .filter(({ f, old }) => old !== f.content)
          .map(({ f, old }) => ({
            path: f.path,
            diff: createTwoFilesPatch(f.path, f.path, old, f.content, `config version ${a}`, `config version ${b}`),
          }));
        const start = before.start === after.start ? undefined : { from: before.start, to: after.start };
        if (files.length > 0 || start) {
          instances.push({ role: inst.role, host: inst.hostname, changes: changesBetween(was, will), files, ...(start && { start }) });
        }
      }
      return { from: a, to: b, changes: configChanges(from, to), instances };
    },

    /**
     * New values over the current ones, and the groups given (or the current ones); a parameter
     * behind a port cannot change here (the placement holds its ports).
     */
    async put(clusterRef: string, serviceRef: string, req: ConfigChangeRequest, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await findService(pool, clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      const current = setOf(def, await versionOf(svc, svc.configVersion), 'values');
      const values = resolveParameters(def, { ...current.values, ...req.values }, 'values');
      for (const [param, port] of portParameters(def)) {
        if (values[param] !== current.values[param]) {
          throw invalidField(
            `values.${param}`,
            `'${param}' sets ${port}, which a reconfiguration cannot move; remove and deploy the service to change it`,
          );
        }
      }
      let groups = current.groups;
      if (req.groups !== undefined) {
        const instances = (await servicesRepo(pool).instances(svc.id)).filter((i) => !i.leaving);
        const resolved = resolveGroups(def, req.groups, instances, values);
        if (resolved.errors.length > 0) {
          const summary = resolved.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
          throw new SophonError('VALIDATION_FAILED', `Invalid role groups for ${svc.name}: ${summary}`, resolved.errors);
        }
        groups = resolved.groups;
      }
      const next = { values, groups };
      return change(cluster, svc, who, next, configChanges(current, next), req.note ?? '');
    },

    /** Renders the service's files again against what it reads now and rolls the instances whose files differ. */
    async refresh(clusterRef: string, serviceRef: string, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await findService(pool, clusterRef, serviceRef);
      if (svc.status !== 'ACTIVE') throw conflict(`${svc.name} is ${svc.status}; it can be refreshed once it is ACTIVE`);
      return startServiceOperation(operations, cluster, svc.name, who, {
        type: 'service.refresh',
        workflowType: 'refreshServiceWorkflow',
        workflowId: (opId) => configWorkflowIds.refresh(cluster.name, svc.name, opId),
        args: (opId) => ({ operationId: opId, serviceId: svc.id }),
      });
    },

    /** An older version's values and groups again, as a new version (a group's departed hosts stay departed). */
    async rollback(clusterRef: string, serviceRef: string, req: { version: number; note?: string | undefined }, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await findService(pool, clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      const target = await versionOf(svc, req.version, 'version');
      const current = setOf(def, await versionOf(svc, svc.configVersion), 'values');
      const next = setOf(def, target, 'version');
      return change(cluster, svc, who, next, configChanges(current, next), req.note ?? `rollback to version ${req.version}`);
    },
  };
}

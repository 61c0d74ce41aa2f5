/**
 * Activities of service operations: each step loads what it needs from Postgres by id,
 * records itself with trackStep (every attempt, output tails, heartbeats, cancellation) and
 * does its part on the host through service-host.ts.
 */
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { rulesRepo } from '../../alerts/rules-repo.js';
import { createEscalations } from '../../notify/escalation-client.js';
import type { Pool } from '../../../platform/db/pool.js';
import { hostsRepo, type Host } from '../../hosts/repo.js';
import { renderConfigFiles, type Catalog, type ServiceDefinition, type TemplateContext } from '../../defs/index.js';
import { notFound, SophonError } from '../../../platform/errors.js';
import { listUnsafeEntries, type PackageEntry } from '../../packages/index.js';
import { instanceContext, sceneOf, type ServiceScene } from '../render.js';
import { effectiveValues } from '../../config/groups.js';
import { servicesRepo, type InstanceRow, type ServiceRow } from '../repo.js';
import { mapBounded } from '../../../platform/concurrency.js';
import type { ActionPlanInput, InstanceRef, ServicePlan } from '../types.js';
import type { ActivityDeps } from '../../../platform/temporal/activity-deps.js';
import { targetOf } from '../../hosts/activities.js';
import {
  checkHealth,
  ensureRunAs,
  installPackage,
  lifecycleCommand,
  removeServiceFiles,
  runRoleCommand,
  writeConfigFiles,
  type HostCommand,
} from './on-host.js';
import { trackStep, type StepKey, type StepOutput } from '../../operations/steps.js';

export interface HostStepInput {
  operationId: string;
  phase: string;
  serviceId: string;
  hostId: string;
  /** The version to install (an upgrade or its rollback); the service's target version when absent. */
  version?: string;
}

export interface InstanceStepInput {
  operationId: string;
  phase: string;
  instanceId: string;
  /** The version to render for (an upgrade or its rollback); the instance's own when absent. */
  version?: string;
}

/** How long an instance may take to pass its health checks after a start. */
const HEALTH_DEADLINE_MS = 180_000;
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Instances in the definition's rolling order: by role order, then by index (or reverse index). */
export function inRollingOrder(def: ServiceDefinition, rows: InstanceRow[]): InstanceRef[] {
  const startOrder = new Map(def.roles.map((r) => [r.name, r.startOrder]));
  const roleRank = (role: string) => {
    const listed = def.rolling.roleOrder.indexOf(role);
    return listed >= 0 ? listed : def.rolling.roleOrder.length + (startOrder.get(role) ?? 0);
  };
  const reverse = def.rolling.order === 'reverse-index';
  return [...rows]
    .sort((a, b) => roleRank(a.role) - roleRank(b.role) || a.role.localeCompare(b.role) || (reverse ? b.idx - a.idx : a.idx - b.idx))
    .map((i) => ({ id: i.id, role: i.role, host: i.hostname, hostId: i.hostId, startOrder: startOrder.get(i.role) ?? 0 }));
}

/** The init steps an instance runs, by `where`, and whether it waits for the role's first instance. */
export function initPlanOf(
  def: ServiceDefinition,
  inst: Pick<InstanceRow, 'role' | 'idx'>,
  all: Array<Pick<InstanceRow, 'role' | 'idx'>>,
): Pick<InstanceRef, 'init' | 'afterFirst'> {
  const role = def.roles.find((r) => r.name === inst.role);
  if (!role?.init.length) return {};
  const first = Math.min(...all.filter((i) => i.role === inst.role).map((i) => i.idx)) === inst.idx;
  const init = role.init.flatMap((s, step) => (s.where === 'each' || (s.where === 'first') === first ? [{ step, name: s.name }] : []));
  return { init, afterFirst: !first && role.init.some((s) => s.where === 'others') };
}

/** The definition's rolling policy and the role whose leader goes last. */
export function rollingPolicyOf(def: ServiceDefinition) {
  const leaderRole = def.rolling.order === 'followers-first' ? (def.rolling.leader?.role ?? null) : null;
  return {
    rolling: { batchSize: def.rolling.batchSize, maxFailures: def.rolling.maxFailures, pauseSeconds: def.rolling.pauseSeconds },
    leaderRole,
    leaderHandoff: leaderRole !== null && def.rolling.leader?.handoff !== undefined,
  };
}

interface Loaded {
  svc: ServiceRow;
  def: ServiceDefinition;
  inst: InstanceRow;
  host: Host;
  scene: ServiceScene;
  ctx: TemplateContext;
  role: ServiceDefinition['roles'][number];
}

/** A role instance with its service, definition, host, the service's scene and the instance's context (at `version` when given). */
export async function loadInstance(pool: Pool, catalog: Catalog, instanceId: string, version?: string): Promise<Loaded> {
  const services = servicesRepo(pool);
  const inst = await services.instance(instanceId);
  if (!inst) throw notFound('Role instance', instanceId);
  const svc = await services.get(inst.serviceId);
  if (!svc) throw notFound('Service', inst.serviceId);
  const def = catalog.get(svc.name);
  const host = await hostsRepo(pool).get(inst.hostId);
  if (!host) throw notFound('Host', inst.hostId);
  const scene = await sceneOf(pool, svc, def);
  const ctx = instanceContext(
    scene,
    version ? { ...inst, version } : inst,
    host.installRoot,
    effectiveValues(await services.configSet(svc.id, svc.configVersion), inst),
  );
  return { svc, def, inst, host, scene, ctx, role: def.roles.find((r) => r.name === inst.role)! };
}

export function createServiceActivities({ pool, ssh, catalog, packages, packageCacheDir, temporal, config }: ActivityDeps) {
  const escalations = createEscalations(temporal, config.temporal.taskQueue);
  const services = servicesRepo(pool);
  const hosts = hostsRepo(pool);

  async function serviceOf(id: string): Promise<{ svc: ServiceRow; def: ServiceDefinition }> {
    const svc = await services.get(id);
    if (!svc) throw notFound('Service', id);
    return { svc, def: catalog.get(svc.name) };
  }

  /** The instance of `role` (among those `pick` keeps) that the definition's leader check names, or null. */
  async function leaderOf(serviceId: string, role: string, pick: (i: InstanceRow) => boolean): Promise<string | null> {
    const { def } = await serviceOf(serviceId);
    const check = def.rolling.leader;
    if (!check) return null;
    const candidates = (await services.instances(serviceId)).filter((i) => i.role === role && pick(i));
    const leaders = await mapBounded(candidates, 8, async (i) => {
      const l = await loadInstance(pool, catalog, i.id);
      const noop = { onStdout: () => undefined, onStderr: () => undefined, signal: new AbortController().signal };
      // A host that does not answer leads nothing the roll can wait for.
      const result = await ssh
        .connect(targetOf(l.host))
        .then((conn) => runRoleCommand(conn, def, check, l.ctx, noop, 'the leader check'))
        .catch(() => undefined);
      return result && `${result.stdout}${result.stderr}`.includes(check.expectOutput) ? i.id : null;
    });
    return leaders.find((id) => id !== null) ?? null;
  }

  async function hostOf(id: string): Promise<Host> {
    const host = await hosts.get(id);
    if (!host) throw notFound('Host', id);
    return host;
  }

  const archOf = (host: Host) => (host.facts as { arch?: string } | null)?.arch ?? 'x86_64';

  const keyOf = (input: { operationId: string; phase: string }, host: string, role: string, step: string): StepKey => ({
    operationId: input.operationId,
    host,
    role,
    phase: input.phase,
    step,
  });

  /** Runs one instance step with its row, connection and rendered context. */
  async function instanceStep(
    input: InstanceStepInput,
    step: string,
    body: (l: Loaded, output: StepOutput) => Promise<string>,
  ): Promise<void> {
    const loaded = await loadInstance(pool, catalog, input.instanceId, input.version);
    await trackStep(pool, keyOf(input, loaded.host.hostname, loaded.inst.role, step), async (output) => ({
      outcome: { message: await body(loaded, output) },
    }));
  }

  const verified = new Map<string, Promise<string>>();
  /** The package in the worker's cache, fetched and checked for unsafe entries once per sha256. */
  function localPackage(entry: PackageEntry): Promise<string> {
    let p = verified.get(entry.sha256);
    if (!p) {
      p = (async () => {
        const path = join(packageCacheDir, `${entry.sha256}-${entry.file}`);
        await mkdir(packageCacheDir, { recursive: true });
        const temp = `${path}.${process.pid}.part`;
        await packages.fetch(entry, temp);
        const unsafe = await listUnsafeEntries(temp);
        if (unsafe.length) {
          await rm(temp, { force: true });
          throw new SophonError(
            'ARCHIVE_UNSAFE',
            `${entry.file} has unsafe entries: ${unsafe.map((u) => `${u.path}: ${u.message}`).join('; ')}`,
            unsafe,
          );
        }
        await rename(temp, path);
        return path;
      })();
      p.catch(() => verified.delete(entry.sha256));
      verified.set(entry.sha256, p);
    }
    return p;
  }

  type Conn = Awaited<ReturnType<typeof ssh.connect>>;
  const runOn = (conn: Conn, c: HostCommand, output: StepOutput) => conn.exec(c.command, { timeoutMs: c.timeoutMs, ...output });

  async function isRunning(l: Loaded, output: StepOutput, conn: Conn): Promise<boolean> {
    const status = lifecycleCommand(l.def, l.role, 'status', l.ctx);
    return status !== undefined && (await runOn(conn, status, output)).exitCode === 0;
  }

  return {
    /** The hosts and instances of a service, in start order: ids only, for the workflow. */
    async servicePlan(serviceId: string): Promise<ServicePlan> {
      const { def } = await serviceOf(serviceId);
      const order = new Map(def.roles.map((r) => [r.name, r.startOrder]));
      const instances = await services.instances(serviceId);
      const hostIds = new Map<string, string>();
      for (const i of instances) hostIds.set(i.hostId, i.hostname);
      return {
        hosts: [...hostIds].map(([hostId, hostname]) => ({ hostId, hostname })),
        instances: instances.map((i) => ({
          id: i.id,
          role: i.role,
          host: i.hostname,
          hostId: i.hostId,
          startOrder: order.get(i.role) ?? 0,
          ...initPlanOf(def, i, instances),
        })),
      };
    },

    /** The instances an action touches, in rolling order, with the definition's rolling policy. */
    async actionPlan(input: ActionPlanInput) {
      const { def } = await serviceOf(input.serviceId);
      const chosen = (await services.instances(input.serviceId)).filter(
        (i) => (!input.roles?.length || input.roles.includes(i.role)) && (!input.hosts?.length || input.hosts.includes(i.hostname)),
      );
      await services.setDesired(
        chosen.map((i) => i.id),
        input.action === 'stop' ? 'STOPPED' : 'RUNNING',
      );
      return { instances: inRollingOrder(def, chosen), ...rollingPolicyOf(def) };
    },

    /** The instance of `role` that leads now (the definition's leader check), or null. */
    async findLeader(serviceId: string, role: string): Promise<string | null> {
      return leaderOf(serviceId, role, () => true);
    },

    /** Checks that the host's package of `version` is in the repository with its sha256 (fetched into the worker's cache). */
    async verifyServicePackage(input: HostStepInput & { version: string }): Promise<void> {
      const { def } = await serviceOf(input.serviceId);
      const host = await hostOf(input.hostId);
      await trackStep(pool, keyOf(input, host.hostname, '', 'package'), async () => {
        const entry = await packages.resolve(def, input.version, archOf(host));
        await localPackage(entry);
        return { outcome: { message: `${entry.file} present, sha256 ${entry.sha256}` } };
      });
    },

    async installServicePackage(input: HostStepInput): Promise<void> {
      const { svc, def } = await serviceOf(input.serviceId);
      const host = await hostOf(input.hostId);
      const version = input.version ?? svc.targetVersion;
      await trackStep(pool, keyOf(input, host.hostname, '', 'install'), async (output) => {
        const entry = await packages.resolve(def, version, archOf(host));
        const localPath = await localPackage(entry);
        const conn = await ssh.connect(targetOf(host));
        const user = await ensureRunAs(conn, { user: def.runAs.user, group: def.runAs.group ?? def.runAs.user }, output);
        const installed = await installPackage(
          conn,
          { localPath, file: entry.file, sha256: entry.sha256, installRoot: host.installRoot, service: def.name, version },
          output,
        );
        return { outcome: { message: `${user}; ${installed}` } };
      });
    },

    async configureInstance(input: InstanceStepInput): Promise<void> {
      await instanceStep(input, 'configure', async (l, output) => {
        const conn = await ssh.connect(targetOf(l.host));
        const written = await writeConfigFiles(conn, renderConfigFiles(l.def, l.ctx), l.ctx, output);
        await services.setInstanceInstalled(l.inst.id, l.ctx.service.version, l.svc.configVersion);
        return written.length ? `wrote ${written.join(', ')}` : 'configuration unchanged';
      });
    },

    /** Starts the instance unless its status command says it runs already. */
    async startInstance(input: InstanceStepInput): Promise<void> {
      await instanceStep(input, 'start', async (l, output) => {
        const start = lifecycleCommand(l.def, l.role, 'start', l.ctx);
        if (!start) return `${l.role.name} has no start command`;
        const conn = await ssh.connect(targetOf(l.host));
        if (await isRunning(l, output, conn)) return 'already running';
        const result = await runOn(conn, start, output);
        if (result.exitCode !== 0) {
          await services.setObserved(l.inst.id, 'FAILED', `start exited with ${result.exitCode}`);
          throw new SophonError(
            'COMMAND_FAILED',
            `start of ${l.def.name} ${l.role.name} on ${l.host.hostname} exited with ${result.exitCode}: ${result.stderr.trim().slice(-500)}`,
          );
        }
        return 'started';
      });
    },

    /**
     * Init step `step` of the instance's role: skipped when its `unless` check says it already
     * happened, so a re-run after a crash never repeats a format.
     */
    async initInstance(input: InstanceStepInput & { step: number }): Promise<void> {
      const l = await loadInstance(pool, catalog, input.instanceId, input.version);
      const step = l.role.init[input.step];
      if (!step) throw new SophonError('DEFINITION_INVALID', `${l.def.name} ${l.role.name} has no init step ${input.step}`);
      await trackStep(pool, keyOf(input, l.host.hostname, l.inst.role, `init: ${step.name}`), async (output) => {
        const conn = await ssh.connect(targetOf(l.host));
        const done = await runRoleCommand(
          conn,
          l.def,
          { run: step.unless, timeout: step.timeout },
          l.ctx,
          output,
          `init step '${step.name}' (unless)`,
        );
        if (done.exitCode === 0) return { outcome: { message: 'already done' } };
        const result = await runRoleCommand(conn, l.def, step, l.ctx, output, `init step '${step.name}'`);
        if (result.exitCode !== 0) {
          throw new SophonError(
            'COMMAND_FAILED',
            `init step '${step.name}' of ${l.def.name} ${l.role.name} on ${l.host.hostname} exited with ${result.exitCode}: ${`${result.stderr}${result.stdout}`.trim().slice(-500)}`,
          );
        }
        return { outcome: { exitCode: 0, message: 'done' } };
      });
    },

    /**
     * Waits until every health check of the instance passes, at most `waitSeconds` (180 s when
     * absent), then records it RUNNING.
     */
    async checkInstanceHealth(input: InstanceStepInput & { waitSeconds?: number }): Promise<void> {
      const waitMs = input.waitSeconds === undefined ? HEALTH_DEADLINE_MS : input.waitSeconds * 1000;
      await instanceStep(input, 'health', async (l, output) => {
        const conn = await ssh.connect(targetOf(l.host));
        const deadline = Date.now() + waitMs;
        for (;;) {
          const failures = (await Promise.all(l.role.healthChecks.map((c) => checkHealth(conn, l.def, c, l.ctx, output)))).filter(
            (f) => f !== null,
          );
          if (failures.length === 0) break;
          if (Date.now() > deadline || output.signal.aborted) {
            await services.setObserved(l.inst.id, 'FAILED', failures.join('; '));
            throw new SophonError(
              'HEALTH_CHECK_FAILED',
              `${l.def.name} ${l.role.name} on ${l.host.hostname} is not healthy after ${waitMs / 1000}s: ${failures.join('; ')}`,
            );
          }
          await sleep(1000, output.signal);
        }
        await services.setObserved(l.inst.id, 'RUNNING', null);
        return `${l.role.healthChecks.length} health checks pass`;
      });
    },

    /** Stops the instance (if it runs) and checks that it did. */
    async stopInstance(input: InstanceStepInput): Promise<void> {
      await instanceStep(input, 'stop', async (l, output) => {
        const conn = await ssh.connect(targetOf(l.host));
        const hasStatus = lifecycleCommand(l.def, l.role, 'status', l.ctx) !== undefined;
        if (hasStatus && !(await isRunning(l, output, conn))) {
          await services.setObserved(l.inst.id, 'STOPPED', null);
          return 'not running';
        }
        const stop = lifecycleCommand(l.def, l.role, 'stop', l.ctx);
        if (!stop) throw new SophonError('DEFINITION_INVALID', `${l.def.name} ${l.role.name} has no stop command`);
        const result = await runOn(conn, stop, output);
        // A stop command may only signal the process: give it the command's own timeout to go.
        const deadline = Date.now() + stop.timeoutMs;
        let running = hasStatus ? await isRunning(l, output, conn) : result.exitCode !== 0;
        while (running && hasStatus && Date.now() < deadline && !output.signal.aborted) {
          await sleep(500, output.signal);
          running = await isRunning(l, output, conn);
        }
        if (running) {
          throw new SophonError(
            'COMMAND_FAILED',
            `${l.def.name} ${l.role.name} on ${l.host.hostname} still runs ${stop.timeoutMs / 1000}s after its stop command (exit ${result.exitCode})`,
          );
        }
        await services.setObserved(l.inst.id, 'STOPPED', null);
        return 'stopped';
      });
    },

    /** The definition's `rolling.leader.handoff` on the leading instance, before a roll takes it down. */
    async handOffLeadership(input: InstanceStepInput): Promise<void> {
      await instanceStep(input, 'handoff', async (l, output) => {
        const handoff = l.def.rolling.leader?.handoff;
        if (!handoff) return 'the definition has no handoff';
        const conn = await ssh.connect(targetOf(l.host));
        const result = await runRoleCommand(conn, l.def, handoff, l.ctx, output, 'the leader handoff');
        if (result.exitCode !== 0) {
          throw new SophonError(
            'COMMAND_FAILED',
            `the leader handoff of ${l.def.name} ${l.role.name} on ${l.host.hostname} exited with ${result.exitCode}: ${`${result.stderr}${result.stdout}`.trim().slice(-500)}`,
          );
        }
        return `handed off: ${result.stdout.trim().slice(-200)}`;
      });
    },

    /**
     * Decommission step `step` of the definition for an instance a scale-in removes: on its
     * own host (`where: instance`), on the first remaining instance of role `on` (`where: role`)
     * or on the remaining one of `on` that leads now (`where: leader`).
     * `instance` in the command is always the instance leaving.
     */
    async decommissionInstance(input: InstanceStepInput & { step: number }): Promise<void> {
      const l = await loadInstance(pool, catalog, input.instanceId);
      const step = l.def.decommission[input.step];
      if (!step) throw new SophonError('DEFINITION_INVALID', `${l.def.name} has no decommission step ${input.step}`);
      let target = l.host;
      let ctx = l.ctx;
      if (step.where !== 'instance') {
        const runner =
          step.where === 'leader'
            ? await leaderOf(l.svc.id, step.on!, (i) => !i.leaving)
            : (await services.instances(l.svc.id)).find((i) => i.role === step.on && !i.leaving)?.id;
        if (!runner) {
          const which = step.where === 'leader' ? `no leading ${step.on}` : `no ${step.on} left`;
          throw new SophonError('CONFLICT', `${l.def.name} has ${which} to run '${step.name}' on`);
        }
        const on = await loadInstance(pool, catalog, runner);
        target = on.host;
        // Paths of the instance that runs the step; `instance` stays the one leaving.
        ctx = { ...ctx, paths: on.ctx.paths };
      }
      await trackStep(pool, keyOf(input, l.host.hostname, l.inst.role, `decommission: ${step.name}`), async (output) => {
        const conn = await ssh.connect(targetOf(target));
        const result = await runRoleCommand(conn, l.def, step, ctx, output, `decommission step '${step.name}'`);
        if (result.exitCode !== 0) {
          throw new SophonError(
            'COMMAND_FAILED',
            `decommission step '${step.name}' for ${l.def.name} ${l.inst.role} on ${l.host.hostname} exited with ${result.exitCode}: ${result.stderr.trim().slice(-500)}`,
          );
        }
        return { outcome: { exitCode: 0, message: `ran on ${target.hostname}` } };
      });
    },

    async removeServiceFromHost(input: HostStepInput): Promise<void> {
      const { def } = await serviceOf(input.serviceId);
      const host = await hostOf(input.hostId);
      await trackStep(pool, keyOf(input, host.hostname, '', 'remove-files'), async (output) => {
        const conn = await ssh.connect(targetOf(host));
        return { outcome: { message: await removeServiceFiles(conn, host.installRoot, def, output) } };
      });
    },

    /** The service is ACTIVE; its definition's default alert rules exist for it (idempotent). */
    async markServiceDeployed(serviceId: string): Promise<void> {
      await services.markDeployed(serviceId);
      const svc = await services.get(serviceId);
      if (svc) await rulesRepo(pool).ensureDefinitionRules(svc.clusterId, svc.name, catalog.get(svc.name).alerts);
    },

    async setServiceStatus(serviceId: string, status: ServiceRow['status']): Promise<void> {
      await services.setStatus(serviceId, status);
    },

    /** Forgets the service, and its default alert rules (their open alerts resolved). */
    async deleteServiceRows(serviceId: string): Promise<void> {
      const svc = await services.get(serviceId);
      const resolved = svc ? await rulesRepo(pool).removeDefinitionRules(svc.clusterId, svc.name) : [];
      await services.remove(serviceId);
      for (const alertId of resolved) await escalations.resolve(alertId, 'sophon');
    },
  };
}

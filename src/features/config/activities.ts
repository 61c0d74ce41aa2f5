/**
 * Activities of a reconfiguration: what each instance must do to run the service's config
 * version (nothing, write files, write and reload, or write and restart), writing the files,
 * reloading, and recording the version an instance runs.
 */
import { hostsRepo, type Host } from '../hosts/repo.js';
import { restartNeeded, type RenderedFile } from '../defs/index.js';
import { notFound, SophonError } from '../../platform/errors.js';
import { configRepo } from './repo.js';
import { effectiveValues, type ConfigSet } from './groups.js';
import { renderInstance, renderInstanceFiles, sceneOf } from '../services/render.js';
import { servicesRepo } from '../services/repo.js';
import type { ReconfigurePlan, ReconfigurePlanInput } from './types.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';
import { targetOf } from '../hosts/activities.js';
import { inRollingOrder, loadInstance, rollingPolicyOf, type InstanceStepInput } from '../services/activities/steps.js';
import { runRoleCommand, writeConfigFiles } from '../services/activities/on-host.js';
import { trackStep } from '../operations/steps.js';

const sameFiles = (a: RenderedFile[], b: RenderedFile[]) =>
  a.length === b.length && a.every((f, i) => f.path === b[i]!.path && f.sha256 === b[i]!.sha256);

export function createConfigActivities({ pool, ssh, catalog }: ActivityDeps) {
  const services = servicesRepo(pool);
  const configs = configRepo(pool);
  const hosts = hostsRepo(pool);

  async function hostOf(id: string): Promise<Host> {
    const host = await hosts.get(id);
    if (!host) throw notFound('Host', id);
    return host;
  }

  return {
    /**
     * Per instance, from the version it runs (or `running` says it has) to the service's: which
     * files change, and whether that needs a restart (a file or the start command changes through
     * a `restart: true` parameter), a reload (only `restart: false` parameters change a file) or
     * nothing (also for an instance meant to be stopped).
     */
    async reconfigurePlan(input: ReconfigurePlanInput): Promise<ReconfigurePlan> {
      const svc = await services.get(input.serviceId);
      if (!svc) throw notFound('Service', input.serviceId);
      const def = catalog.get(svc.name);
      const scene = await sceneOf(pool, svc, def);
      const sets = new Map<number, Promise<ConfigSet>>();
      const configOf = (v: number) => {
        if (!sets.has(v)) sets.set(v, services.configSet(svc.id, v));
        return sets.get(v)!;
      };
      const instances: ReconfigurePlan['instances'] = [];
      for (const ref of inRollingOrder(def, scene.instances)) {
        const inst = scene.instances.find((i) => i.id === ref.id)!;
        const { installRoot } = await hostOf(inst.hostId);
        // Each instance with its own effective values: a change to one group reaches only its hosts.
        const target = effectiveValues(await configOf(svc.configVersion), inst);
        const before = effectiveValues(await configOf(input.running?.[inst.id] ?? inst.configVersion ?? svc.configVersion), inst);
        const restartParams = restartNeeded(def, before, target);
        const was = renderInstance(scene, inst, installRoot, before);
        const will = renderInstance(scene, inst, installRoot, target);
        // Only the restart-needing changes applied: does any of them reach this instance?
        const restartOnly = renderInstance(scene, inst, installRoot, {
          ...before,
          ...Object.fromEntries(restartParams.map((p) => [p, target[p]!])),
        });
        const files = will.files.filter((f) => was.files.find((w) => w.path === f.path)?.sha256 !== f.sha256).map((f) => f.path);
        const restart = !sameFiles(restartOnly.files, was.files) || restartOnly.start !== was.start;
        // A stopped instance gets its files and stays stopped; its next start reads them.
        const action = inst.desiredState === 'STOPPED' ? 'none' : restart ? 'restart' : files.length > 0 ? 'reload' : 'none';
        instances.push({ ...ref, files, action });
      }
      return { version: svc.configVersion, instances, ...rollingPolicyOf(def) };
    },

    /** Writes the instance's files of the service's config version (only those whose bytes differ). */
    async writeInstanceConfig(input: InstanceStepInput): Promise<void> {
      const l = await loadInstance(pool, catalog, input.instanceId);
      await trackStep(
        pool,
        { operationId: input.operationId, host: l.host.hostname, role: l.inst.role, phase: input.phase, step: 'configure' },
        async (output) => {
          const conn = await ssh.connect(targetOf(l.host));
          const written = await writeConfigFiles(
            conn,
            renderInstanceFiles(l.scene, l.inst, l.host.installRoot, l.ctx.params),
            l.ctx,
            output,
          );
          return {
            outcome: {
              message: written.length ? `wrote ${written.join(', ')} (config version ${l.svc.configVersion})` : 'configuration unchanged',
            },
          };
        },
      );
    },

    /** Makes a running instance re-read its files with the role's reload command, when it has one. */
    async reloadInstance(input: InstanceStepInput): Promise<void> {
      const l = await loadInstance(pool, catalog, input.instanceId);
      await trackStep(
        pool,
        { operationId: input.operationId, host: l.host.hostname, role: l.inst.role, phase: input.phase, step: 'reload' },
        async (output) => {
          if (!l.role.reload) return { outcome: { message: `${l.role.name} has no reload command: it reads the changed files itself` } };
          const conn = await ssh.connect(targetOf(l.host));
          const result = await runRoleCommand(conn, l.def, l.role.reload, l.ctx, output, 'the reload command');
          if (result.exitCode !== 0) {
            throw new SophonError(
              'COMMAND_FAILED',
              `reload of ${l.def.name} ${l.role.name} on ${l.host.hostname} exited with ${result.exitCode}: ${result.stderr.trim().slice(-500)}`,
            );
          }
          return { outcome: { message: 'reloaded' } };
        },
      );
    },

    async recordInstanceConfig(instanceId: string, version: number): Promise<void> {
      await configs.setInstanceVersion(instanceId, version);
    },

    async setServiceConfigVersion(serviceId: string, version: number): Promise<void> {
      await configs.setServiceVersion(serviceId, version);
    },
  };
}

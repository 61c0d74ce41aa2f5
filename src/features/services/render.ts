/**
 * The template context of a role instance as Postgres describes it (placement, dependencies,
 * parameters of a config version): shared by the steps that write files on hosts and by the
 * API that shows what a config version renders to.
 */
import type { Pool } from '../../platform/db/pool.js';
import {
  buildContext,
  renderCommand,
  renderConfigFiles,
  type HostRef,
  type ParameterValue,
  type ServiceDefinition,
  type TemplateContext,
} from '../defs/index.js';
import { servicesRepo, type InstanceRow, type ServiceRow } from './repo.js';

/** Placement by role, in index order, as templates see it. */
export function placementOf(instances: InstanceRow[], self?: string): Record<string, HostRef[]> {
  const placement: Record<string, HostRef[]> = {};
  for (const i of [...instances].sort((a, b) => a.idx - b.idx)) {
    // Members a scale-in removes are left out (except `self`, whose commands still need its
    // context); stored indexes keep ids such as ZooKeeper's myid stable.
    if (i.leaving && i.id !== self) continue;
    (placement[i.role] ??= []).push({ hostname: i.hostname, address: i.address, labels: i.labels, index: i.idx });
  }
  return placement;
}

/** Dependencies' instances, for templates such as Kafka's zookeeper.connect. */
export async function depsOf(pool: Pool, svc: ServiceRow, def: ServiceDefinition): Promise<TemplateContext['deps']> {
  const services = servicesRepo(pool);
  const deps: TemplateContext['deps'] = {};
  for (const name of [...def.dependencies, ...def.optionalDependencies]) {
    const dep = await services.find(svc.clusterId, name);
    if (!dep) continue;
    const roles: TemplateContext['deps'][string]['roles'] = {};
    for (const i of await services.instances(dep.id)) {
      if (i.leaving) continue;
      (roles[i.role] ??= { hosts: [] }).hosts.push({
        role: i.role,
        hostname: i.hostname,
        address: i.address,
        labels: i.labels,
        index: i.idx,
        id: i.idx + 1,
        ports: i.ports,
      });
    }
    deps[name] = { roles };
  }
  return deps;
}

/** What is shared by every instance of a service when rendering one config version. */
export interface ServiceScene {
  svc: ServiceRow;
  def: ServiceDefinition;
  instances: InstanceRow[];
  deps: TemplateContext['deps'];
}

export async function sceneOf(pool: Pool, svc: ServiceRow, def: ServiceDefinition): Promise<ServiceScene> {
  return { svc, def, instances: await servicesRepo(pool).instances(svc.id), deps: await depsOf(pool, svc, def) };
}

/** The context of one instance with the given parameter values. */
export function instanceContext(
  scene: ServiceScene,
  inst: InstanceRow,
  installRoot: string,
  params: Record<string, ParameterValue>,
): TemplateContext {
  const { svc, def } = scene;
  return buildContext({
    definition: def,
    serviceId: svc.id,
    version: inst.version ?? svc.targetVersion,
    clusterName: svc.clusterName,
    placement: placementOf(scene.instances, inst.id),
    role: inst.role,
    hostname: inst.hostname,
    params,
    installRoot,
    deps: scene.deps,
  });
}

/** The files an instance gets with the given parameter values. */
export function renderInstanceFiles(scene: ServiceScene, inst: InstanceRow, installRoot: string, params: Record<string, ParameterValue>) {
  return renderConfigFiles(scene.def, instanceContext(scene, inst, installRoot, params));
}

/** What decides whether an instance must restart: its files and its start (or process) command with the given values. */
export function renderInstance(scene: ServiceScene, inst: InstanceRow, installRoot: string, params: Record<string, ParameterValue>) {
  const { def } = scene;
  const role = def.roles.find((r) => r.name === inst.role);
  const start = role?.process ?? role?.start;
  const ctx = instanceContext(scene, inst, installRoot, params);
  return {
    files: renderConfigFiles(def, ctx),
    start: start ? renderCommand(def, start.run, ctx, 'the start command') : '',
  };
}

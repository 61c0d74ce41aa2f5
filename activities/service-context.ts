/** What templates of a service see about its placement and its dependencies (shared by operations and polling). */
import type { HostRef, ServiceDefinition, TemplateContext } from '../src/defs/index.js';
import type { InstanceRow, ServiceRow, servicesRepo } from '../src/services/repo.js';

/** Placement by role, in index order, as templates see it. */
export function placementOf(instances: InstanceRow[]): Record<string, HostRef[]> {
  const placement: Record<string, HostRef[]> = {};
  for (const i of [...instances].sort((a, b) => a.idx - b.idx)) (placement[i.role] ??= []).push({ hostname: i.hostname, address: i.address });
  return placement;
}

/** Dependencies' instances, for templates such as Kafka's zookeeper.connect. */
export async function depsOf(services: ReturnType<typeof servicesRepo>, svc: ServiceRow, def: ServiceDefinition): Promise<TemplateContext['deps']> {
  const deps: TemplateContext['deps'] = {};
  for (const name of def.dependencies) {
    const dep = await services.find(svc.clusterId, name);
    if (!dep) continue;
    const roles: TemplateContext['deps'][string]['roles'] = {};
    for (const i of await services.instances(dep.id)) {
      (roles[i.role] ??= { hosts: [] }).hosts.push({ role: i.role, hostname: i.hostname, address: i.address, index: i.idx, id: i.idx + 1, ports: i.ports });
    }
    deps[name] = { roles };
  }
  return deps;
}

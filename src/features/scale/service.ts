/**
 * A scale request checked whole before anything is recorded: the role, the hosts to add and
 * remove, and the placement rules on the result (cardinality, READY hosts, port clashes),
 * with every problem named by its field in the request.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster } from '../clusters/repo.js';
import { hostsRepo, javaVersionOf } from '../hosts/repo.js';
import type { Pool } from '../../platform/db/pool.js';
import { placementViolations, rolePorts, type Catalog } from '../defs/index.js';
import { conflict, SophonError, type FieldError } from '../../platform/errors.js';
import { invalidField } from '../../platform/validation.js';
import { servicesRepo, type NewInstance, type ServiceRow } from '../services/repo.js';

export interface ScaleRequest {
  role: string;
  add?: string[] | undefined;
  remove?: string[] | undefined;
}

export interface CheckedScale {
  joining: NewInstance[];
  leaving: string[];
}

const majority = (n: number) => Math.floor(n / 2) + 1;

export async function checkScale(
  pool: Pool,
  catalog: Catalog,
  cluster: Cluster,
  svc: ServiceRow,
  req: ScaleRequest,
): Promise<CheckedScale> {
  if (svc.status !== 'ACTIVE') throw conflict(`${svc.name} is ${svc.status}; it can be scaled once it is ACTIVE`);
  const def = catalog.get(svc.name);
  const role = def.roles.find((r) => r.name === req.role);
  if (!role) throw invalidField('role', `${svc.name} has no role '${req.role}'; its roles are ${def.roles.map((r) => r.name).join(', ')}`);
  const add = req.add ?? [];
  const remove = req.remove ?? [];
  if (add.length === 0 && remove.length === 0) throw invalidField('add', 'nothing to change: list hosts to add or to remove');

  const services = servicesRepo(pool);
  const instances = await services.instances(svc.id);
  const members = instances.filter((i) => i.role === role.name).sort((a, b) => a.idx - b.idx);
  const memberHosts = members.map((i) => i.hostname);
  const errors: FieldError[] = [];
  const twice = (list: string[], h: string, k: number) => list.indexOf(h) !== k;
  remove.forEach((h, k) => {
    if (twice(remove, h, k)) errors.push({ path: `remove.${k}`, message: `host '${h}' is listed twice` });
    else if (!memberHosts.includes(h)) {
      errors.push({
        path: `remove.${k}`,
        message: `host '${h}' has no ${svc.name} ${role.name}; its ${role.name}s are on ${memberHosts.join(', ')}`,
      });
    }
  });
  add.forEach((h, k) => {
    if (twice(add, h, k)) errors.push({ path: `add.${k}`, message: `host '${h}' is listed twice` });
    else if (memberHosts.includes(h)) errors.push({ path: `add.${k}`, message: `host '${h}' already runs ${svc.name} ${role.name}` });
  });
  if (errors.length)
    throw new SophonError('VALIDATION_FAILED', `Cannot scale ${svc.name} ${role.name}: ${errors.map((e) => e.message).join('; ')}`, errors);

  // Placement rules on the result; hosts already placed are not re-judged (a dead one may be the one leaving).
  const result = [...memberHosts.filter((h) => !remove.includes(h)), ...add];
  const placement: Record<string, string[]> = {};
  for (const i of instances) (placement[i.role] ??= []).push(i.hostname);
  placement[role.name] = result;
  const clusterHosts = await hostsRepo(pool).named(cluster.id, add);
  const placed = new Set(instances.map((i) => i.hostname));
  // Placement rules and ports read the service's values: a group cannot move ports, and a joining host is in no group.
  const { values } = await services.configSet(svc.id, svc.configVersion);
  const usedPorts = (await services.usedPorts(cluster.id))
    .filter((u) => u.service !== svc.name)
    .flatMap((u) => Object.values(u.ports).map((port) => ({ hostname: u.hostname, port, service: u.service, role: u.role })));
  const violations = placementViolations({
    definition: def,
    placement,
    hosts: [
      ...[...placed].map((hostname) => ({ hostname, status: 'READY' })),
      ...clusterHosts
        .filter((h) => !placed.has(h.hostname))
        .map((h) => ({ hostname: h.hostname, status: h.maintenance ? 'in MAINTENANCE' : h.status, javaVersion: javaVersionOf(h) })),
    ],
    deployedServices: (await services.list(cluster.id)).filter((s) => s.status === 'ACTIVE').map((s) => s.name),
    usedPorts,
    params: values,
  });
  const countField = result.length < members.length ? 'remove' : 'add';
  const fieldOf = (e: FieldError): string => {
    const at = new RegExp(`^placement\\.${role.name}\\.(\\d+)$`).exec(e.path);
    const host = at ? result[Number(at[1])] : add.find((h) => e.message.includes(`host '${h}'`));
    if (host !== undefined && add.includes(host)) return `add.${add.indexOf(host)}`;
    return e.path === `placement.${role.name}` ? countField : e.path;
  };
  const mapped = violations.map((e) => ({ path: fieldOf(e), message: e.message }));

  // A voting role changes by fewer than a majority at once: joining members alone cannot
  // elect a leader without the old ones' data, and the leaving ones cannot out-vote the rest.
  if (role.membership?.quorum) {
    const ensemble = members.length + add.length;
    const limit = majority(ensemble) - 1;
    const why = `${svc.name} ${role.name}s vote by majority: a scale may add or remove at most ${limit} of ${ensemble}; scale in steps`;
    if (add.length > limit) mapped.push({ path: 'add', message: why });
    if (remove.length > limit) mapped.push({ path: 'remove', message: why });
  }
  if (mapped.length) {
    throw new SophonError('PLACEMENT_INVALID', `Cannot scale ${svc.name} ${role.name}: ${mapped.map((e) => e.message).join('; ')}`, mapped);
  }

  const ids = new Map(clusterHosts.map((h) => [h.hostname, h.id]));
  const ports = rolePorts(def, role.name, values);
  // New members take the next free indexes: the ids of those that stay never change.
  const next = Math.max(-1, ...members.map((i) => i.idx)) + 1;
  return {
    joining: add.map((hostname, k) => ({ id: randomUUID(), role: role.name, idx: next + k, hostId: ids.get(hostname)!, ports })),
    leaving: members.filter((i) => remove.includes(i.hostname)).map((i) => i.id),
  };
}

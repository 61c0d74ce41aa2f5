/**
 * Role groups of a config version: named sets of one role's instances whose parameters differ
 * from the service's values (DataNodes with a larger heap, a server with another data disk).
 * An instance's effective values are the version's values overridden by its group's; every
 * place that renders an instance goes through `effectiveValues`.
 */
import { parameterProblem, type ParameterValue, type ServiceDefinition } from '../defs/index.js';
import type { FieldError } from '../../platform/errors.js';
import { changesBetween, type Changes } from './repo.js';

export type Values = Record<string, ParameterValue>;

/**
 * A host of a group, with the instance it named when the group was written: an instance that
 * leaves (scale-in) no longer matches, and a host that joins later, even the same one again,
 * is a new instance in no group until a change lists it.
 */
export interface GroupMember {
  hostname: string;
  instanceId: string;
}

export interface RoleGroup {
  role: string;
  hosts: GroupMember[];
  /** Only the parameters the group overrides. */
  values: Values;
}

export type RoleGroups = Record<string, RoleGroup>;

/** What a config version holds. */
export interface ConfigSet {
  values: Values;
  groups: RoleGroups;
}

/** As a change request names a group: hostnames and unchecked values. */
export interface GroupInput {
  role: string;
  hosts: string[];
  values: Record<string, unknown>;
}

export interface GroupedInstance {
  id: string;
  role: string;
}

/** The name of the group the instance belongs to, if any (at most one per role). */
export function groupOf(groups: RoleGroups, inst: GroupedInstance): string | undefined {
  return Object.keys(groups)
    .sort()
    .find((name) => groups[name]!.role === inst.role && groups[name]!.hosts.some((h) => h.instanceId === inst.id));
}

/** The values of a group's instances (or, with no group, of the others): the version's, overridden by the group's. */
export function groupValues(config: ConfigSet, group: string | undefined): Values {
  return { ...config.values, ...(group === undefined ? {} : config.groups[group]?.values) };
}

/** The values an instance renders with: the version's, overridden by those of its group. */
export function effectiveValues(config: ConfigSet, inst: GroupedInstance): Values {
  return groupValues(config, groupOf(config.groups, inst));
}

/** The groups with the parameters the definition still has (it may have dropped one since a version was written). */
export function knownGroups(def: ServiceDefinition, groups: RoleGroups): RoleGroups {
  const has = (name: string) => def.parameters.some((p) => p.name === name);
  return Object.fromEntries(
    Object.entries(groups).map(([name, g]) => [
      name,
      { ...g, values: Object.fromEntries(Object.entries(g.values).filter(([k]) => has(k))) },
    ]),
  );
}

/** Parameters behind a port: fixed at deploy, for groups as for the service's values. */
export function portParameters(def: ServiceDefinition): Map<string, string> {
  const fixed = new Map<string, string>();
  for (const role of def.roles)
    for (const port of role.ports) if (port.parameter) fixed.set(port.parameter, `the ${role.name} port ${port.name}`);
  return fixed;
}

/**
 * Checks groups of a change request against the definition, the service's instances and the
 * version's values; answers the groups as stored, or every problem at its field path
 * (`groups.<name>.role`, `groups.<name>.hosts.<i>`, `groups.<name>.values.<param>`).
 */
export function resolveGroups(
  def: ServiceDefinition,
  input: Record<string, GroupInput>,
  instances: Array<GroupedInstance & { hostname: string }>,
  values: Values,
): { groups: RoleGroups; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const groups: RoleGroups = {};
  const fixed = portParameters(def);
  const taken = new Map<string, string>(); // instance id → group
  for (const name of Object.keys(input).sort()) {
    const g = input[name]!;
    const at = `groups.${name}`;
    const role = def.roles.find((r) => r.name === g.role);
    if (!role) {
      errors.push({
        path: `${at}.role`,
        message: `${def.name} has no role '${g.role}'; its roles are ${def.roles.map((r) => r.name).join(', ')}`,
      });
    }
    const members = instances.filter((i) => i.role === g.role);
    const hosts: GroupMember[] = [];
    g.hosts.forEach((hostname, k) => {
      const inst = members.find((i) => i.hostname === hostname);
      if (!role) return;
      if (!inst) {
        const on = members.length
          ? `its ${role.name} instances are on ${members.map((i) => i.hostname).join(', ')}`
          : `it has no ${role.name} instances`;
        errors.push({ path: `${at}.hosts.${k}`, message: `host '${hostname}' runs no ${def.name} ${role.name}; ${on}` });
      } else if (g.hosts.indexOf(hostname) !== k) {
        errors.push({ path: `${at}.hosts.${k}`, message: `host '${hostname}' is listed twice` });
      } else if (taken.has(inst.id)) {
        errors.push({
          path: `${at}.hosts.${k}`,
          message: `host '${hostname}' is already in group '${taken.get(inst.id)}'; a ${role.name} belongs to at most one group`,
        });
      } else {
        taken.set(inst.id, name);
        hosts.push({ hostname, instanceId: inst.id });
      }
    });
    const own: Values = {};
    for (const [param, v] of Object.entries(g.values)) {
      const p = def.parameters.find((x) => x.name === param);
      const problem = p ? parameterProblem(p, v) : `${def.name} has no parameter '${param}'`;
      const port = fixed.get(param);
      if (problem) errors.push({ path: `${at}.values.${param}`, message: problem });
      else if (port && v !== values[param]) {
        errors.push({
          path: `${at}.values.${param}`,
          message: `'${param}' sets ${port}, which is fixed at deploy for every instance; a group cannot change it`,
        });
      } else own[param] = v as ParameterValue;
    }
    groups[name] = { role: g.role, hosts, values: own };
  }
  return { groups, errors };
}

/**
 * A group's hosts and values as flat, readable keys: `groups.big.role`, `groups.big.hosts`,
 * `groups.big.heapMb`. A host whose instance is not the one `other` lists under the same name
 * (it left and joined again) is marked, so re-listing it still shows as a change.
 */
function flatten(groups: RoleGroups, other: RoleGroups = {}): Values {
  const flat: Values = {};
  for (const [name, g] of Object.entries(groups)) {
    const replaced = (h: GroupMember) => other[name]?.hosts.some((o) => o.hostname === h.hostname && o.instanceId !== h.instanceId);
    flat[`groups.${name}.role`] = g.role;
    flat[`groups.${name}.hosts`] = g.hosts.map((h) => (replaced(h) ? `${h.hostname} (another instance)` : h.hostname)).join(', ');
    for (const [param, v] of Object.entries(g.values)) flat[`groups.${name}.${param}`] = v;
  }
  return flat;
}

/** What changes between two versions: the parameters, then each group's role, hosts and values. */
export function configChanges(before: ConfigSet, after: ConfigSet): Changes {
  return {
    ...changesBetween(before.values, after.values),
    ...changesBetween(flatten(before.groups, after.groups), flatten(after.groups)),
  };
}

/** Groups as the API shows them: hostnames only. */
export function groupsView(groups: RoleGroups) {
  return Object.fromEntries(
    Object.entries(groups).map(([name, g]) => [name, { role: g.role, hosts: g.hosts.map((h) => h.hostname), values: g.values }]),
  );
}

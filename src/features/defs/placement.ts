/**
 * Checks a placement request {role: [hosts]} against a definition and the cluster: every
 * violation is collected and reported at once, in words an operator can act on.
 */
import { SophonError, type FieldError } from '../../platform/errors.js';
import { parseCardinality, type ParameterValue, type PlacementRule, type ServiceDefinition } from './schema.js';
import { rolePorts } from './templates.js';

export interface ClusterHost {
  hostname: string;
  status: string;
  /** From the host's facts: null when it has no Java; absent when not judged (a host already placed). */
  javaVersion?: string | null;
}

/** A port already taken on a host, by a deployed service. */
export interface UsedPort {
  hostname: string;
  port: number;
  protocol?: 'tcp' | 'udp';
  service: string;
  role: string;
}

export interface PlacementInput {
  definition: ServiceDefinition;
  placement: Record<string, string[]>;
  hosts: ClusterHost[];
  /** Services already deployed in the cluster. */
  deployedServices: string[];
  usedPorts?: UsedPort[];
  params?: Record<string, ParameterValue>;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function cardinalityWords(text: string): string {
  const c = parseCardinality(text);
  if (c.odd) return 'an odd number of hosts (1, 3, 5, ...)';
  if (c.max === null) return `at least ${plural(c.min, 'host')}`;
  if (c.min === c.max) return `exactly ${plural(c.min, 'host')}`;
  return `between ${c.min} and ${c.max} hosts`;
}

/** All violations of a placement; empty when it is acceptable. */
export function placementViolations(input: PlacementInput): FieldError[] {
  const { definition: def, placement } = input;
  const errors: FieldError[] = [];
  const add = (path: string, message: string) => errors.push({ path, message });
  const hosts = new Map(input.hosts.map((h) => [h.hostname, h]));
  const roleNames = def.roles.map((r) => r.name);

  for (const role of Object.keys(placement)) {
    if (!roleNames.includes(role)) {
      add(`placement.${role}`, `${def.name} has no role '${role}'; its roles are ${roleNames.join(', ')}`);
    }
  }

  for (const role of def.roles) {
    const placed = placement[role.name] ?? [];
    const c = parseCardinality(role.cardinality);
    const n = placed.length;
    if (n < c.min || (c.max !== null && n > c.max) || (c.odd && n % 2 === 0)) {
      const why = c.odd && n > 0 && n % 2 === 0 ? ' (an even ensemble cannot out-vote a split)' : '';
      add(
        `placement.${role.name}`,
        `role '${role.name}' needs ${cardinalityWords(role.cardinality)}, got ${n}${n ? `: ${placed.join(', ')}` : ''}${why}`,
      );
    }
    const seen = new Set<string>();
    placed.forEach((h, i) => {
      if (seen.has(h)) add(`placement.${role.name}.${i}`, `host '${h}' is listed twice for role '${role.name}'`);
      seen.add(h);
      const host = hosts.get(h);
      if (!host) add(`placement.${role.name}.${i}`, `host '${h}' is not in the cluster; add it first`);
      else if (host.status !== 'READY') {
        add(`placement.${role.name}.${i}`, `host '${h}' is ${host.status}, not READY; bring it back or choose another host`);
      } else {
        const java = javaProblem(def.requires.java, host.javaVersion);
        if (java)
          add(`placement.${role.name}.${i}`, `host '${h}' ${java}; ${def.name} needs Java ${def.requires.java} or newer on every host`);
      }
    });
  }

  for (const dep of def.dependencies) {
    if (!input.deployedServices.includes(dep)) {
      add('service', `${def.name} needs ${dep} in the cluster; deploy ${dep} first`);
    }
  }
  const values = { ...defaultParams(def), ...input.params };
  for (const rule of def.placementRules) errors.push(...ruleViolations(def, rule, placement, input.deployedServices, values));

  // Ports: this service's roles placed together on a host, and services already there.
  const params = { ...defaultParams(def), ...input.params };
  const taken = new Map<string, string>();
  for (const u of input.usedPorts ?? []) taken.set(`${u.hostname}:${u.port}/${u.protocol ?? 'tcp'}`, `${u.service} ${u.role}`);
  for (const role of def.roles) {
    const ports = rolePorts(def, role.name, params);
    for (const h of new Set(placement[role.name] ?? [])) {
      for (const p of role.ports) {
        const number = ports[p.name] ?? p.port;
        const key = `${h}:${number}/${p.protocol}`;
        const owner = taken.get(key);
        if (owner) {
          add(
            `placement.${role.name}`,
            `port ${number}/${p.protocol} (${p.name}) of ${def.name} ${role.name} on host '${h}' is already used by ${owner}; choose another host or change the port`,
          );
        } else taken.set(key, `${def.name} ${role.name}`);
      }
    }
  }
  return errors;
}

/** The major version of `java -version` text: 17 for "17.0.9", 8 for "1.8.0_392". */
export function javaMajor(version: string): number {
  const [a, b] = version.split(/[._+-]/).map(Number);
  return a === 1 && b !== undefined ? b : (a ?? 0);
}

function javaProblem(needed: number | undefined, version: string | null | undefined): string | null {
  if (needed === undefined || version === undefined) return null;
  if (version === null) return 'has no Java (no java on its PATH when it was bootstrapped)';
  return javaMajor(version) >= needed ? null : `has Java ${version}`;
}

const fits = (n: number, cardinality: string) => {
  const c = parseCardinality(cardinality);
  return n >= c.min && (c.max === null || n <= c.max) && (!c.odd || n % 2 === 1);
};

/** A definition's placement rule against a placement: nothing when its condition does not hold. */
function ruleViolations(
  def: ServiceDefinition,
  rule: PlacementRule,
  placement: Record<string, string[]>,
  deployed: string[],
  params: Record<string, ParameterValue>,
): FieldError[] {
  const placedIn = (role: string) => placement[role] ?? [];
  const condition = rule.when ? placedIn(rule.when.role).length : 0;
  if (rule.when && !fits(condition, rule.when.cardinality)) return [];
  const because = rule.when ? ` with ${plural(condition, rule.when.role)}, ${rule.reason}` : `: ${rule.reason}`;
  const errors: FieldError[] = [];
  if (rule.service !== undefined && !deployed.includes(rule.service)) {
    errors.push({ path: 'service', message: `${def.name} needs ${rule.service} in the cluster${because}; deploy ${rule.service} first` });
  }
  if (rule.role === undefined) return errors;
  const hosts = placedIn(rule.role);
  if (rule.cardinality !== undefined && !fits(hosts.length, rule.cardinality)) {
    errors.push({
      path: `placement.${rule.role}`,
      message: `role '${rule.role}' needs ${cardinalityWords(rule.cardinality)}${because}, got ${hosts.length}`,
    });
  }
  const least = rule.atLeastParameter === undefined ? undefined : params[rule.atLeastParameter];
  if (typeof least === 'number' && hosts.length < least) {
    errors.push({
      path: `placement.${rule.role}`,
      message: `role '${rule.role}' needs at least ${plural(least, 'host')} (${rule.atLeastParameter} is ${least})${because}, got ${hosts.length}`,
    });
  }
  if (rule.sameHostsAs !== undefined) {
    const want = [...placedIn(rule.sameHostsAs)].sort();
    if (want.join(',') !== [...hosts].sort().join(',')) {
      errors.push({
        path: `placement.${rule.role}`,
        message: `role '${rule.role}' must be on the hosts of '${rule.sameHostsAs}' (${want.join(', ') || 'none'})${because}, got ${hosts.join(', ') || 'none'}`,
      });
    }
  }
  return errors;
}

/** Throws PLACEMENT_INVALID listing every violation. */
export function validatePlacement(input: PlacementInput): void {
  const errors = placementViolations(input);
  if (errors.length === 0) return;
  throw new SophonError('PLACEMENT_INVALID', `Cannot place ${input.definition.name}: ${errors.map((e) => e.message).join('; ')}`, errors);
}

export function defaultParams(def: ServiceDefinition): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  for (const p of def.parameters) if (p.default !== undefined) out[p.name] = p.default;
  return out;
}

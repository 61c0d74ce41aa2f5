/**
 * The service-definition format: `service-defs/<name>/service.yaml`. The zod schema is the
 * single source of truth; the TypeScript types are inferred from it.
 */
import { z } from 'zod';
import { ExprError, parseExpr } from '../alerts/expr.js';

const NAME = /^[a-z][a-z0-9-]*$/;
const name = (what: string) =>
  z.string().regex(NAME, `expected a ${what} name of lower-case letters, digits and '-', starting with a letter`);

/** Seconds; commands and checks never run unbounded. */
const timeout = z.number().int().min(1).max(86_400);

/** `1`, `1+`, `3+`, `1-2`, `odd`, `0+` (a YAML number is accepted as its text). */
export const CARDINALITY = /^(\d+|\d+\+|\d+-\d+|odd)$/;
export const cardinalitySchema = z.preprocess(
  (v) => (typeof v === 'number' ? String(v) : v),
  z
    .string()
    .regex(CARDINALITY, "expected a cardinality: a count ('1'), a minimum ('1+', '3+'), a range ('1-2') or 'odd'")
    .refine((v) => !/^(\d+)-(\d+)$/.test(v) || Number(v.split('-')[0]) <= Number(v.split('-')[1]), {
      message: 'expected a range whose lower bound is not above its upper bound',
    }),
);

export interface Cardinality {
  min: number;
  max: number | null;
  odd: boolean;
  text: string;
}

export function parseCardinality(text: string): Cardinality {
  if (text === 'odd') return { min: 1, max: null, odd: true, text };
  if (text.endsWith('+')) return { min: Number(text.slice(0, -1)), max: null, odd: false, text };
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return { min: Number(range[1]), max: Number(range[2]), odd: false, text };
  return { min: Number(text), max: Number(text), odd: false, text };
}

export const ARCHES = ['x86_64', 'aarch64', 'noarch'] as const;

const packageSchema = z.strictObject({
  arch: z.enum(ARCHES),
  file: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*\.(tar\.gz|tgz)$/, 'expected a plain tarball file name (.tar.gz or .tgz), no directories'),
  /** Optional here: the repository index holds the sum of every file; when given, both must agree. */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'expected 64 lower-case hex digits')
    .optional(),
});

const versionSchema = z.strictObject({
  version: z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+~-]*$/, 'expected a version such as 3.8.0 or 7.0.15-deb12u10'),
  default: z.boolean().default(false),
  packages: z.array(packageSchema).min(1, 'expected at least one package'),
});

const portSchema = z.strictObject({
  name: name('port'),
  port: z.number().int().min(1).max(65_535),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  /** A parameter that overrides the port number. */
  parameter: z.string().optional(),
});

const commandSchema = z.strictObject({
  /** Shell command, itself a template. */
  run: z.string().min(1),
  timeout: timeout.default(60),
});

const healthCheckSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('tcp'),
    port: z.string(),
    timeout: timeout.default(5),
  }),
  z.strictObject({
    type: z.literal('http'),
    port: z.string(),
    path: z.string().startsWith('/', "expected a path starting with '/'"),
    scheme: z.enum(['http', 'https']).default('http'),
    expectStatus: z.number().int().min(100).max(599).default(200),
    expectBody: z.string().optional(),
    timeout: timeout.default(5),
  }),
  z.strictObject({
    type: z.literal('command'),
    run: z.string().min(1),
    expectOutput: z.string().optional(),
    timeout: timeout.default(10),
  }),
]);

/**
 * How the role's instances know each other, for scale out/in. `peers`: every instance's
 * configuration lists the role's members (a ZooKeeper ensemble), so a change of members
 * re-renders and restarts the peers, rolling. `quorum`: the members vote by majority, so a
 * scale adds or removes fewer than a majority at once, starts joining members before the
 * peers roll, and moves the leadership off leaving members before they stop.
 */
const membershipSchema = z.strictObject({
  peers: z.boolean().default(false),
  quorum: z.boolean().default(false),
});

/**
 * A foreground command Sophon runs detached and supervises by pid: the start, status and stop
 * of the role follow from it (see docs/service-definitions.md).
 */
const processSchema = z.strictObject({
  run: z.string().min(1),
  /** Seconds between SIGTERM and SIGKILL. */
  stopTimeout: timeout.default(60),
});

/** Once-only preparation of an instance before its first start (format storage, fetch a standby's metadata). */
const initStepSchema = z.strictObject({
  name: z.string().min(1),
  /** `first`: the role's lowest-index instance; `others`: the rest, once the first runs; `each`: all. */
  where: z.enum(['first', 'others', 'each']).default('each'),
  /** Exits 0 when the step already happened on this instance: `run` is skipped then. */
  unless: z.string().min(1),
  run: z.string().min(1),
  timeout: timeout.default(600),
});

const roleSchema = z.strictObject({
  name: name('role'),
  label: z.string().optional(),
  kind: z.enum(['master', 'worker', 'client']),
  cardinality: cardinalitySchema,
  ports: z.array(portSchema).default([]),
  /** Lower starts first; stop runs in reverse. */
  startOrder: z.number().int().min(0).default(0),
  start: commandSchema.optional(),
  stop: commandSchema.optional(),
  status: commandSchema.optional(),
  process: processSchema.optional(),
  init: z.array(initStepSchema).default([]),
  /** Makes a running instance re-read its files (for `restart: false` parameters), e.g. a SIGHUP. */
  reload: commandSchema.optional(),
  healthChecks: z.array(healthCheckSchema).default([]),
  membership: membershipSchema.optional(),
  metrics: z
    .strictObject({
      port: z.string(),
      path: z.string().startsWith('/', "expected a path starting with '/'").default('/metrics'),
      scheme: z.enum(['http', 'https']).default('http'),
    })
    .optional(),
});

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const configFileSchema = z.strictObject({
  /** Relative to the instance's configuration directory. */
  path: z.string().regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$)).+$/, "expected a relative path without '..'"),
  format: z.enum(['properties', 'xml', 'yaml', 'env', 'ini', 'template']),
  /** Directory the path is relative to: the instance's conf (default) or data directory. */
  base: z.enum(['conf', 'data']).default('conf'),
  /** Roles that get this file; all roles when absent. */
  roles: z.array(z.string()).optional(),
  mode: z
    .string()
    .regex(/^0[0-7]{3}$/, "expected an octal mode such as '0644'")
    .default('0644'),
  /** `template`: a file under templates/. */
  template: z.string().optional(),
  /** properties, xml, env: key → value; ini: section → key → value. String values are templates. */
  entries: z.record(z.string(), z.union([scalar, z.record(z.string(), scalar)])).optional(),
  /** yaml: the document; string leaves are templates. */
  content: z.unknown().optional(),
});

const parameterSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a parameter name usable in templates (letters, digits, _)'),
  type: z.enum(['string', 'int', 'number', 'bool']),
  default: scalar.optional(),
  description: z.string().optional(),
  min: z.number().optional(),
  max: z.number().optional(),
  enum: z.array(scalar).min(1).optional(),
  pattern: z.string().optional(),
  /**
   * string: the value is a list `name:number,name:number,...` (unique names, numbers ≥ 0) whose
   * numbers add up to this total, e.g. queue capacities that sum to 100.
   */
  sumsTo: z.number().optional(),
  /** Whether a change needs the instances restarted (false: the service reloads it). */
  restart: z.boolean().default(true),
});

const rollingSchema = z.strictObject({
  batchSize: z.number().int().min(1).default(1),
  maxFailures: z.number().int().min(0).default(0),
  pauseSeconds: z.number().int().min(0).default(0),
  /** Roles in the order they are rolled; unlisted roles follow in start order. */
  roleOrder: z.array(z.string()).default([]),
  /** Within a role: followers before the leader, by index, or by reverse index. */
  order: z.enum(['followers-first', 'index', 'reverse-index']).default('index'),
  /** How to tell the leader, for `followers-first`: a command whose output contains `expectOutput`. */
  leader: z
    .strictObject({
      role: z.string(),
      run: z.string().min(1),
      expectOutput: z.string().min(1),
      timeout: timeout.default(10),
      /** Run on the leader before a roll takes it down, to move the leadership first (an HA failover). */
      handoff: commandSchema.optional(),
    })
    .optional(),
});

const decommissionStepSchema = z.strictObject({
  name: z.string().min(1),
  role: z.string(),
  /**
   * `instance`: on the host being removed; `role`: on a host of `on`; `leader`: on the instance
   * of `on` that leads now by `rolling.leader` (e.g. the active ResourceManager, which alone acts
   * on its own exclude list).
   */
  where: z.enum(['instance', 'role', 'leader']).default('instance'),
  on: z.string().optional(),
  run: z.string().min(1),
  timeout: timeout.default(600),
});

/**
 * A custom command operators run on demand or on a schedule (purge, balancer, leader
 * election...): on one instance of `role`, on each, or on the role's current leader (found
 * by `rolling.leader`). Its parameters are checked like the service's and read as `task.<name>`.
 */
const taskSchema = z.strictObject({
  name: name('task'),
  label: z.string().min(1),
  role: z.string(),
  where: z.enum(['one', 'each', 'leader']).default('one'),
  run: z.string().min(1),
  timeout: timeout.default(600),
  parameters: z.array(parameterSchema).default([]),
});

const alertRuleSchema = z.strictObject({
  name: z.string().min(1),
  role: z.string().optional(),
  expr: z
    .string()
    .min(1)
    .superRefine((expr, ctx) => {
      try {
        parseExpr(expr);
      } catch (err) {
        if (!(err instanceof ExprError)) throw err;
        ctx.addIssue({ code: 'custom', message: `expected an alert expression (docs/service-definitions.md): ${err.message}` });
      }
    }),
  op: z.enum(['>', '>=', '<', '<=', '==', '!=']),
  threshold: z.number(),
  for: z
    .string()
    .regex(/^\d+[smh]$/, "expected a duration such as '30s', '5m' or '1h'")
    .default('1m'),
  severity: z.enum(['critical', 'warning', 'info']),
  summary: z.string().min(1),
  labels: z.record(z.string(), z.string()).default({}),
});

const linkSchema = z.strictObject({
  name: z.string().min(1),
  role: z.string(),
  port: z.string(),
  path: z.string().startsWith('/').default('/'),
  scheme: z.enum(['http', 'https']).default('http'),
});

/**
 * A placement condition beyond one role's cardinality: when role `when.role` is placed with
 * `when.cardinality` (or always, without `when`), role `role` must match `cardinality`, have at
 * least as many hosts as parameter `atLeastParameter` says, or sit on the hosts of
 * `sameHostsAs`, and service `service` must be deployed. `reason` tells the operator why.
 */
const placementRuleSchema = z
  .strictObject({
    /** Absent: the rule always holds. */
    when: z.strictObject({ role: z.string(), cardinality: cardinalitySchema }).optional(),
    role: z.string().optional(),
    cardinality: cardinalitySchema.optional(),
    /** An int parameter whose value is the fewest hosts `role` may have (DataNodes ≥ replication). */
    atLeastParameter: z.string().optional(),
    sameHostsAs: z.string().optional(),
    service: name('service').optional(),
    reason: z.string().min(1),
  })
  .refine(
    (r) =>
      r.service !== undefined ||
      (r.role !== undefined && (r.cardinality !== undefined || r.sameHostsAs !== undefined || r.atLeastParameter !== undefined)),
    { message: "expected 'service', or 'role' with 'cardinality', 'atLeastParameter' or 'sameHostsAs'" },
  );

export const serviceDefinitionSchema = z.strictObject({
  name: name('service'),
  label: z.string().min(1),
  description: z.string().default(''),
  /** The Unix user the processes run as. */
  runAs: z.strictObject({ user: z.string().regex(/^[a-z_][a-z0-9_-]*$/, 'expected a Unix user name'), group: z.string().optional() }),
  versions: z.array(versionSchema).min(1, 'expected at least one version'),
  dependencies: z.array(name('service')).default([]),
  /** Services read when deployed (e.g. ZooKeeper for HA); placement rules may require them. */
  optionalDependencies: z.array(name('service')).default([]),
  /** What every placed host must have. */
  requires: z.strictObject({ java: z.number().int().min(8).max(99).optional() }).default({}),
  placementRules: z.array(placementRuleSchema).default([]),
  roles: z.array(roleSchema).min(1, 'expected at least one role'),
  configFiles: z.array(configFileSchema).default([]),
  parameters: z.array(parameterSchema).default([]),
  rolling: rollingSchema.prefault({}),
  decommission: z.array(decommissionStepSchema).default([]),
  tasks: z.array(taskSchema).default([]),
  alerts: z.array(alertRuleSchema).default([]),
  links: z.array(linkSchema).default([]),
});

export type ServiceDefinitionInput = z.input<typeof serviceDefinitionSchema>;
export type ServiceDefinitionData = z.output<typeof serviceDefinitionSchema>;
export type RoleDefinition = ServiceDefinitionData['roles'][number];
export type MembershipDefinition = z.output<typeof membershipSchema>;
export type PortDefinition = RoleDefinition['ports'][number];
export type HealthCheck = RoleDefinition['healthChecks'][number];
export type CommandDefinition = z.output<typeof commandSchema>;
export type ConfigFileDefinition = ServiceDefinitionData['configFiles'][number];
export type ParameterDefinition = ServiceDefinitionData['parameters'][number];
export type VersionDefinition = ServiceDefinitionData['versions'][number];
export type PackageDefinition = VersionDefinition['packages'][number];
export type ProcessDefinition = z.output<typeof processSchema>;
export type InitStepDefinition = z.output<typeof initStepSchema>;
export type PlacementRule = z.output<typeof placementRuleSchema>;
export type TaskDefinition = ServiceDefinitionData['tasks'][number];
export type AlertRuleDefinition = ServiceDefinitionData['alerts'][number];
export type ParameterValue = string | number | boolean;

/** A loaded definition: the data plus its templates, by path under templates/. */
export interface ServiceDefinition extends ServiceDefinitionData {
  dir: string;
  templates: Record<string, string>;
}

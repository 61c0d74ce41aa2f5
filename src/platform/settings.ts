import path from 'node:path';
import { z } from 'zod';
import { PROJECT_ROOT } from '../dev/paths.js';
import { SophonError } from './errors.js';

/** The catalog shipped with Sophon, beside src/ (and dist/). */
const BUNDLED_SERVICE_DEFS = path.join(PROJECT_ROOT, 'service-defs');

const port = z.coerce
  .number({ error: 'expected a TCP port number' })
  .int('expected a whole number')
  .min(1, 'expected a port between 1 and 65535')
  .max(65535, 'expected a port between 1 and 65535');

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const EnvSchema = z.object({
  SOPHON_HOME: z.string().trim().min(1, 'expected a directory path').default('./.sophon'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'expected a postgres:// or postgresql:// connection URL')
      .optional(),
  ),
  TEMPORAL_ADDRESS: optionalString.pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:7233')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: z.string().trim().min(1, 'expected a namespace name').default('default'),
  TEMPORAL_TASK_QUEUE: z.string().trim().min(1, 'expected a task queue name').default('sophon'),
  TEMPORAL_UI_URL: optionalString.pipe(z.url('expected an http(s) URL of the Temporal UI').optional()),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_CLI: optionalString,
  TEMPORAL_TLS: optionalString.pipe(z.enum(['true', 'false'], { error: 'expected true or false' }).optional()),
  TEMPORAL_TLS_CA_FILE: optionalString,
  TEMPORAL_TLS_CERT_FILE: optionalString,
  TEMPORAL_TLS_KEY_FILE: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  TEMPORAL_API_KEY: optionalString,
  TEMPORAL_API_KEY_FILE: optionalString,
  SOPHON_API_HOST: z.string().trim().min(1).default('127.0.0.1'),
  SOPHON_API_PORT: port.default(8686),
  SOPHON_PUBLIC_URL: optionalString.pipe(
    z.url({ protocol: /^https?$/, error: 'expected the http(s) URL people reach the Sophon API at' }).optional(),
  ),
  SOPHON_POSTGRES_PORT: port.default(5433),
  SOPHON_MASTER_KEY: optionalString,
  SOPHON_MASTER_KEY_FILE: optionalString,
  SOPHON_LOG_LEVEL: z
    .enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
      error: 'expected one of trace, debug, info, warn, error, fatal, silent',
    })
    .default('info'),
  SOPHON_SHUTDOWN_GRACE_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .min(0, 'expected zero or more seconds')
    .max(3600, 'expected at most 3600 seconds')
    .default(20),
  SOPHON_PACKAGE_REPO: optionalString,
  SOPHON_SERVICE_DEFS: optionalString,
  SOPHON_PACKAGE_CACHE: optionalString,
  SOPHON_SSH_CONNECT_TIMEOUT_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .min(1, 'expected at least 1 second')
    .max(600, 'expected at most 600 seconds')
    .default(15),
  SOPHON_SSH_MAX_CHANNELS: z.coerce
    .number({ error: 'expected a number of channels' })
    .int('expected a whole number')
    .min(1, 'expected 1 to 10: OpenSSH allows 10 sessions per connection by default')
    .max(10, 'expected 1 to 10: OpenSSH allows 10 sessions per connection by default')
    .default(8),
  SOPHON_HOST_CHECK_INTERVAL_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .int('expected a whole number')
    .min(10, 'expected at least 10 seconds')
    .default(60),
  SOPHON_RECONCILE_INTERVAL_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .int('expected a whole number')
    .min(10, 'expected at least 10 seconds')
    .default(60),
  SOPHON_POLL_INTERVAL_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .int('expected a whole number')
    .min(1, 'expected at least 1 second')
    .max(86_400, 'expected at most 86400 seconds')
    .default(30),
  SOPHON_SCRAPE_TIMEOUT_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .min(0.1, 'expected at least 0.1 seconds')
    .max(300, 'expected at most 300 seconds')
    .default(10),
  SOPHON_METRICS_RETENTION_MINUTES: z.coerce
    .number({ error: 'expected a number of minutes' })
    .int('expected a whole number')
    .min(1, 'expected at least 1 minute')
    .max(1440, 'expected at most 1440 minutes')
    .default(15),
  SOPHON_ALERT_RESOLVE_AFTER_EVALUATIONS: z.coerce
    .number({ error: 'expected a number of evaluations' })
    .int('expected a whole number')
    .min(1, 'expected at least 1')
    .max(100, 'expected at most 100')
    .default(2),
  SOPHON_MAX_HOSTS_PER_REQUEST: z.coerce
    .number({ error: 'expected a number of hosts' })
    .int('expected a whole number')
    .min(1, 'expected at least 1 host')
    .max(100_000, 'expected at most 100000 hosts')
    .default(1000),
  SOPHON_DEPENDENCY_TIMEOUT_SECONDS: z.coerce
    .number({ error: 'expected a number of seconds' })
    .min(0.1, 'expected at least 0.1 seconds')
    .max(300, 'expected at most 300 seconds')
    .default(10),
});

export interface Config {
  home: string;
  databaseUrl: string | undefined;
  temporal: {
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    uiUrl: string | undefined;
    uiPort: number;
    port: number;
    cli: string | undefined;
    /** TLS to an external Temporal (e.g. Temporal Cloud); files are read at connect time. */
    tls: { enabled: boolean | undefined; caFile?: string; certFile?: string; keyFile?: string; serverName?: string };
    apiKey: string | undefined;
    apiKeyFile: string | undefined;
  };
  postgresPort: number;
  masterKey: string | undefined;
  masterKeyFile: string | undefined;
  logLevel: string;
  shutdownGraceMs: number;
  packageRepo: string;
  /** The worker's copy of verified packages, uploaded from here to hosts. */
  packageCache: string;
  serviceDefsDir: string;
  ssh: { connectTimeoutMs: number; maxChannelsPerHost: number };
  hostCheckIntervalSeconds: number;
  reconcileIntervalSeconds: number;
  /** Polling of role instances: status checks and Prometheus scrapes, and how long samples are kept. */
  monitoring: { pollIntervalSeconds: number; scrapeTimeoutMs: number; retentionMinutes: number; alertResolveAfterEvaluations: number };
  /** `publicUrl`: where people reach the API (links in notifications), when not host:port. */
  api: { host: string; port: number; publicUrl: string | undefined; maxHostsPerRequest: number; dependencyTimeoutMs: number };
}

/**
 * Reads Sophon's configuration from the environment. Every problem is reported, one line
 * each, naming the variable and what was expected.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      const got = env[name];
      return `${name}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
    });
    throw new SophonError(
      'CONFIG_INVALID',
      `Invalid configuration: ${lines.join('; ')}`,
      result.error.issues.map((issue, i) => ({ path: String(issue.path[0]), message: lines[i] ?? issue.message })),
    );
  }
  const e = result.data;
  const invalid = (message: string, name: string, why: string) =>
    new SophonError('CONFIG_INVALID', `Invalid configuration: ${message}`, [{ path: name, message: why }]);
  // Two ways to give one setting: only one of them may be set.
  const onlyOne = (a: keyof typeof e, b: keyof typeof e) => {
    if (e[a] && e[b]) throw invalid(`${a} and ${b} are both set; set only one`, b, `set either ${a} or ${b}`);
  };
  const needs = (a: keyof typeof e, b: keyof typeof e, why: string) => {
    if (e[a] && !e[b]) throw invalid(`${a} is set without ${b} (${why})`, b, why);
  };
  onlyOne('SOPHON_MASTER_KEY', 'SOPHON_MASTER_KEY_FILE');
  needs('TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE', 'a client certificate needs its key');
  needs('TEMPORAL_TLS_KEY_FILE', 'TEMPORAL_TLS_CERT_FILE', 'a client key needs its certificate');
  onlyOne('TEMPORAL_API_KEY', 'TEMPORAL_API_KEY_FILE');
  const tlsFiles = {
    caFile: e.TEMPORAL_TLS_CA_FILE,
    certFile: e.TEMPORAL_TLS_CERT_FILE,
    keyFile: e.TEMPORAL_TLS_KEY_FILE,
    serverName: e.TEMPORAL_TLS_SERVER_NAME,
  };
  const home = path.resolve(e.SOPHON_HOME);
  return {
    home,
    databaseUrl: e.DATABASE_URL,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiUrl: e.TEMPORAL_UI_URL,
      uiPort: e.TEMPORAL_UI_PORT,
      port: e.TEMPORAL_PORT,
      cli: e.TEMPORAL_CLI,
      tls: {
        // Explicit TEMPORAL_TLS wins; otherwise any TLS setting turns it on, and with none the
        // SDK decides (TLS when an API key is set).
        enabled: e.TEMPORAL_TLS ? e.TEMPORAL_TLS === 'true' : Object.values(tlsFiles).some(Boolean) || undefined,
        ...Object.fromEntries(Object.entries(tlsFiles).filter(([, v]) => v !== undefined)),
      },
      apiKey: e.TEMPORAL_API_KEY,
      apiKeyFile: e.TEMPORAL_API_KEY_FILE,
    },
    api: {
      host: e.SOPHON_API_HOST,
      port: e.SOPHON_API_PORT,
      publicUrl: e.SOPHON_PUBLIC_URL,
      maxHostsPerRequest: e.SOPHON_MAX_HOSTS_PER_REQUEST,
      dependencyTimeoutMs: e.SOPHON_DEPENDENCY_TIMEOUT_SECONDS * 1000,
    },
    postgresPort: e.SOPHON_POSTGRES_PORT,
    masterKey: e.SOPHON_MASTER_KEY,
    masterKeyFile: e.SOPHON_MASTER_KEY_FILE,
    logLevel: e.SOPHON_LOG_LEVEL,
    shutdownGraceMs: e.SOPHON_SHUTDOWN_GRACE_SECONDS * 1000,
    packageRepo: e.SOPHON_PACKAGE_REPO ?? path.join(home, 'packages'),
    packageCache: path.resolve(e.SOPHON_PACKAGE_CACHE ?? path.join(home, 'cache', 'packages')),
    serviceDefsDir: path.resolve(e.SOPHON_SERVICE_DEFS ?? BUNDLED_SERVICE_DEFS),
    ssh: { connectTimeoutMs: e.SOPHON_SSH_CONNECT_TIMEOUT_SECONDS * 1000, maxChannelsPerHost: e.SOPHON_SSH_MAX_CHANNELS },
    hostCheckIntervalSeconds: e.SOPHON_HOST_CHECK_INTERVAL_SECONDS,
    reconcileIntervalSeconds: e.SOPHON_RECONCILE_INTERVAL_SECONDS,
    monitoring: {
      pollIntervalSeconds: e.SOPHON_POLL_INTERVAL_SECONDS,
      scrapeTimeoutMs: e.SOPHON_SCRAPE_TIMEOUT_SECONDS * 1000,
      retentionMinutes: e.SOPHON_METRICS_RETENTION_MINUTES,
      alertResolveAfterEvaluations: e.SOPHON_ALERT_RESOLVE_AFTER_EVALUATIONS,
    },
  };
}

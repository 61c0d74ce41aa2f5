import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from '@temporalio/worker';
import { HEARTBEAT_EVERY_MS } from './platform/temporal/host-activity.js';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import type { Config } from './platform/settings.js';
import { createCredentialStore } from './features/credentials/store.js';
import type { Pool } from './platform/db/pool.js';
import { loadCatalog } from './features/defs/index.js';
import { PROJECT_ROOT } from './dev/paths.js';
import { createPackageRepository } from './features/packages/index.js';
import type { Logger } from './platform/log.js';
import { createSecretBox } from './platform/secrets/secret-box.js';
import { createSshPool } from './platform/ssh/index.js';
import { temporalConnectionOptions } from './platform/temporal/client.js';

/** The workflow code's entry in the TypeScript sources. */
export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/** The same code bundled ahead of time by `npm run build`. */
export const WORKFLOW_BUNDLE = path.join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');

/**
 * Compiled, the worker loads the prebuilt bundle; from the sources (tests, tsx) it bundles
 * them with webpack as it starts, which takes seconds and memory a production worker is spared.
 */
export const WORKFLOW_CODE = import.meta.url.endsWith('.ts')
  ? { workflowsPath: WORKFLOWS_PATH }
  : { workflowBundle: { codePath: WORKFLOW_BUNDLE } };

let runtimeInstalled = false;

/**
 * Routes the Temporal SDK's own log lines into Sophon's logger. Must run before anything
 * else touches the SDK runtime; later calls are no-ops.
 */
export function installRuntimeLogger(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLogger = logger.child({ component: 'temporal-sdk' });
  Runtime.install({
    // Sophon decides the stop order itself (API first, then the worker, then servers).
    shutdownSignals: [],
    logger: new DefaultLogger('WARN', ({ level, message, meta }) => {
      const method = ({ TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const)[level as LogLevel];
      sdkLogger[method](meta ?? {}, message);
    }),
  });
}

/** The real dependencies of activities: Postgres, sealed credentials, the SSH pool, the catalog, the package repository and a Temporal client. */
export async function createActivityDeps(
  config: Config,
  pool: Pool,
  logger: Logger,
  masterKey: Buffer,
  temporalAddress: string,
): Promise<ActivityDeps> {
  const secretBox = createSecretBox(masterKey);
  const credentials = createCredentialStore(pool, secretBox);
  const ssh = createSshPool({
    resolveCredential: (id) => credentials.resolve(id),
    logger: logger.child({ component: 'ssh' }),
    connectTimeoutMs: config.ssh.connectTimeoutMs,
    maxChannelsPerHost: config.ssh.maxChannelsPerHost,
  });
  // Connects on first use (the reconciler's).
  const temporal = new Client({
    connection: Connection.lazy({ address: temporalAddress, ...temporalConnectionOptions(config) }),
    namespace: config.temporal.namespace,
  });
  return {
    pool,
    logger,
    credentials,
    secretBox,
    ssh,
    temporal,
    catalog: await loadCatalog(config.serviceDefsDir),
    packages: createPackageRepository(config.packageRepo),
    packageCacheDir: config.packageCache,
    config,
  };
}

export interface SophonWorkerOptions {
  config: Config;
  address: string;
  deps: ActivityDeps;
  /** Replaces activities, e.g. to inject a fault in a test; defaults to the real ones. */
  activities?: object;
}

export interface RunningWorker {
  worker: Worker;
  /** Settles when the worker has stopped; rejects if it failed. */
  done: Promise<void>;
  /** Lets running activities finish (within the grace time), then releases the SSH and Temporal connections of the worker and its deps; idempotent. */
  stop(): Promise<void>;
}

export async function startSophonWorker(opts: SophonWorkerOptions): Promise<RunningWorker> {
  installRuntimeLogger(opts.deps.logger);
  const connection = await NativeConnection.connect({ address: opts.address, ...temporalConnectionOptions(opts.config) });
  const worker = await Worker.create({
    connection,
    namespace: opts.config.temporal.namespace,
    taskQueue: opts.config.temporal.taskQueue,
    ...WORKFLOW_CODE,
    activities: opts.activities ?? createActivities(opts.deps),
    shutdownGraceTime: opts.config.shutdownGraceMs,
    // A cancellation reaches an activity only in the answer to a heartbeat the worker sends on;
    // by default it holds them back for 80% of the heartbeat timeout (16 s for host steps).
    maxHeartbeatThrottleInterval: HEARTBEAT_EVERY_MS,
  });
  const done = worker.run();
  let stopped: Promise<void> | undefined;
  const stop = async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    try {
      await done;
    } finally {
      opts.deps.ssh.closeAll();
      await opts.deps.temporal.connection.close();
      await connection.close();
    }
  };
  // Callers may stop from a signal handler and again on the way out: one stop serves both.
  return { worker, done, stop: () => (stopped ??= stop()) };
}

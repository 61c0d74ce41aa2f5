/**
 * Building blocks for integration tests: a fresh database on the run's Postgres, a worker
 * with real activities on its own task queue, and the API on a free port. The servers come
 * from test/run.ts through SOPHON_TEST_DATABASE_URL and SOPHON_TEST_TEMPORAL_ADDRESS.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/platform/settings.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { createPool, type Pool } from '../../src/platform/db/pool.js';
import type { Role } from '../../src/platform/http/roles.js';
import { tokensRepo } from '../../src/features/tokens/repo.js';
import { createLogger, type Logger } from '../../src/platform/log.js';
import { connectCore, startApi, type Core, type RunningApi } from '../../src/runtime.js';
import { loadMasterKey } from '../../src/platform/secrets/master-key.js';
import { createActivityDeps, installRuntimeLogger, startSophonWorker, type RunningWorker } from '../../src/worker.js';
import { createActivities, type Activities, type ActivityDeps } from '../../activities/index.js';

export const logger: Logger = createLogger(process.env.SOPHON_TEST_LOG_LEVEL ?? 'silent');
installRuntimeLogger(logger);

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run integration tests through 'npm test'`);
  return value;
}

/** One master key per test process: API and workers of a test share it. */
const MASTER_KEY = randomBytes(32).toString('hex');
const PACKAGE_CACHE = path.join(tmpdir(), `sophon-test-package-cache-${process.pid}`);

export const temporalAddress = () => required('SOPHON_TEST_TEMPORAL_ADDRESS');

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** An empty database of its own on the run's Postgres server. */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const serverUrl = required('SOPHON_TEST_DATABASE_URL');
  const name = `sophon_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  if (opts.migrate !== false) await migrate(url.toString(), logger);
  const pool = createPool(url.toString());
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** Configuration for a test: its own task queue, the run's servers. */
export function testConfig(db: TestDatabase, env: NodeJS.ProcessEnv = {}): Config {
  return loadConfig({
    SOPHON_HOME: '/nonexistent-sophon-home',
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_TASK_QUEUE: `test-${randomBytes(6).toString('hex')}`,
    SOPHON_API_PORT: '1',
    SOPHON_SHUTDOWN_GRACE_SECONDS: '2',
    SOPHON_LOG_LEVEL: 'silent',
    SOPHON_MASTER_KEY: MASTER_KEY,
    SOPHON_PACKAGE_CACHE: PACKAGE_CACHE,
    // Tests trigger polls themselves; a 30 s poll per cluster would load the run's one Temporal.
    SOPHON_POLL_INTERVAL_SECONDS: '3600',
    ...(process.env.SOPHON_TEST_PACKAGE_REPO ? { SOPHON_PACKAGE_REPO: process.env.SOPHON_TEST_PACKAGE_REPO } : {}),
    ...env,
  });
}

/** The real activity dependencies for a test database. */
export async function activityDeps(config: Config, pool: Pool): Promise<ActivityDeps> {
  return createActivityDeps(config, pool, logger, await loadMasterKey(config, { generate: false }), temporalAddress());
}

/**
 * A running worker on the config's task queue with real activities; `override` replaces
 * some of them (to inject a fault).
 */
export async function startTestWorker(
  config: Config,
  pool: Pool,
  override?: (real: Activities, deps: ActivityDeps) => object,
): Promise<RunningWorker> {
  const deps = await activityDeps(config, pool);
  return startSophonWorker({
    config,
    address: temporalAddress(),
    deps,
    ...(override ? { activities: override(createActivities(deps), deps) } : {}),
  });
}

export interface TestApi {
  url: string;
  core: Core;
  api: RunningApi;
  /** Creates a token of the given role and returns its secret. */
  token(role: Role): Promise<string>;
  call(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; rawBody?: string; contentType?: string },
  ): Promise<{ status: number; type: string; body: any; headers: Headers }>;
  /** Stops this API and deletes the schedules of its task queue. */
  stop(): Promise<void>;
  /** Stops this API only (another API of the same test keeps its schedules). */
  close(): Promise<void>;
}

/** The API on a free port; `opts.temporalAddress` points it at another Temporal server than the run's. */
export async function startTestApi(config: Config, db: TestDatabase, opts: { temporalAddress?: string } = {}): Promise<TestApi> {
  const core = await connectCore(
    { ...config, api: { ...config.api, host: '127.0.0.1', port: 0 } },
    logger,
    { databaseUrl: db.url, temporalAddress: opts.temporalAddress ?? temporalAddress() },
    await loadMasterKey(config, { generate: false }),
  );
  const api = await startApi(core);
  return {
    url: api.url,
    core,
    api,
    async token(role) {
      return (await tokensRepo(db.pool).create({ name: `test-${role}`, role, createdBy: 'test' })).token;
    },
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined;
      if (opts.rawBody !== undefined) body = opts.rawBody;
      else if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
      const res = await fetch(`${api.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      const type = res.headers.get('content-type') ?? '';
      return { status: res.status, type, body: type.includes('json') ? JSON.parse(text) : text, headers: res.headers };
    },
    async close() {
      await api.close();
      await core.close();
    },
    async stop() {
      await api.close();
      // The run's Temporal outlives this test file: its schedules must not keep firing.
      for await (const schedule of core.temporal.schedule.list()) {
        if (schedule.scheduleId.includes(config.temporal.taskQueue))
          await core.temporal.schedule
            .getHandle(schedule.scheduleId)
            .delete()
            .catch(() => undefined);
      }
      await core.close();
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import { createApp } from './platform/http/app.js';
import type { Config } from './platform/settings.js';
import { createPool, type Pool } from './platform/db/pool.js';
import { tokensRepo } from './features/tokens/repo.js';
import { clustersRepo } from './features/clusters/repo.js';
import { SophonError } from './platform/errors.js';
import type { Logger } from './platform/log.js';
import { createOperationsService, type OperationsService } from './features/operations/service.js';
import { createCredentialStore, type CredentialStore } from './features/credentials/store.js';
import { loadCatalog, type Catalog } from './features/defs/index.js';
import { createSecretBox, type SecretBox } from './platform/secrets/secret-box.js';
import { connectClient, ensureSearchAttributes, temporalConnectionOptions } from './platform/temporal/client.js';
import { ensurePollSchedule, ensureSchedules } from './platform/temporal/schedules.js';
import { reconcileMaintenanceSchedules } from './features/maintenance/temporal.js';

/** What both the API and the worker need: Postgres and a Temporal client. */
export interface Core {
  config: Config;
  logger: Logger;
  pool: Pool;
  temporal: Client;
  connection: Connection;
  operations: OperationsService;
  credentials: CredentialStore;
  secretBox: SecretBox;
  catalog: Catalog;
  close(): Promise<void>;
}

export async function connectCore(
  config: Config,
  logger: Logger,
  where: { databaseUrl: string; temporalAddress: string },
  masterKey: Buffer,
): Promise<Core> {
  // A broken definition stops start-up with every problem listed, before anything connects.
  const catalog = await loadCatalog(config.serviceDefsDir);
  const pool = createPool(where.databaseUrl, { timeoutMs: config.api.dependencyTimeoutMs });
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end();
    throw new SophonError('DEPENDENCY_UNAVAILABLE', `Cannot reach Postgres (${(err as Error).message}); check DATABASE_URL`);
  }
  const secretBox = createSecretBox(masterKey);
  const { client, connection } = await connectClient(where.temporalAddress, config.temporal.namespace, temporalConnectionOptions(config));
  await ensureSearchAttributes(connection, config.temporal.namespace);
  return {
    config,
    logger,
    pool,
    temporal: client,
    connection,
    operations: createOperationsService({ config, pool, temporal: client, logger }),
    credentials: createCredentialStore(pool, secretBox),
    secretBox,
    catalog,
    async close() {
      await connection.close();
      await pool.end();
    },
  };
}

export interface RunningApi {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the API after making sure Sophon's schedules exist; every 30 s it also starts
 * operations whose start was interrupted.
 */
export async function startApi(core: Core): Promise<RunningApi> {
  await ensureSchedules(core.temporal, core.config);
  for (const cluster of await clustersRepo(core.pool).list()) {
    if (cluster.status === 'ACTIVE') await ensurePollSchedule(core.temporal, core.config, cluster.id, cluster.name);
  }
  await reconcileMaintenanceSchedules(core.temporal, core.config, core.pool, core.logger);
  const app = createApp(core);
  const { host, port } = core.config.api;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(port, host);
    s.once('listening', () => resolve(s));
    s.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new SophonError('PORT_IN_USE', `Port ${port} on ${host} (Sophon API) is already in use; set SOPHON_API_PORT to another port`)
          : err,
      ),
    );
  });
  const resume = () =>
    core.operations.resumeUnstarted().catch((err: unknown) => core.logger.warn({ err }, 'could not resume unstarted operations'));
  void resume();
  const timer = setInterval(resume, 30_000);
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`,
    async close() {
      clearInterval(timer);
      server.closeIdleConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Embedded mode's first admin token, kept in `$SOPHON_HOME/admin-token` (0600). A token
 * file that no longer authenticates (for instance after the database was reset) is replaced.
 */
export async function ensureAdminToken(pool: Pool, home: string): Promise<string> {
  const file = path.join(home, 'admin-token');
  const tokens = tokensRepo(pool);
  if (existsSync(file) && (await tokens.authenticate((await readFile(file, 'utf8')).trim()))) return file;
  const { token } = await tokens.create({ name: 'embedded-admin', role: 'admin', createdBy: 'sophon start' });
  await mkdir(home, { recursive: true });
  await writeFile(file, token + '\n', { mode: 0o600 });
  return file;
}

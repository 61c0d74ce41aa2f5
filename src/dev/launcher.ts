import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../platform/settings.js';
import { migrate } from '../platform/db/migrate.js';
import type { Logger } from '../platform/log.js';
import { connectCore, ensureAdminToken, startApi } from '../runtime.js';
import { loadMasterKey } from '../platform/secrets/master-key.js';
import { createActivityDeps, installRuntimeLogger, startSophonWorker } from '../worker.js';
import { startEmbeddedPostgres, stopLeftoverPostgres } from './embedded-postgres.js';
import { startEmbeddedTemporal, stopLeftoverTemporal } from './embedded-temporal.js';
import { assertPortFree } from './ports.js';

type Stopper = { name: string; stop: () => Promise<unknown> };

/**
 * `npm start`: Postgres and Temporal embedded unless DATABASE_URL / TEMPORAL_ADDRESS point
 * elsewhere, then migrations, the worker and the API in this process. SIGINT/SIGTERM stop
 * everything in reverse order.
 */
export async function runEmbedded(config: Config, logger: Logger): Promise<void> {
  installRuntimeLogger(logger);
  await mkdir(config.home, { recursive: true });
  const stoppers: Stopper[] = [];
  let stopped: Promise<void> | undefined;
  // Ctrl-C reaches the whole process group, and npm adds a SIGTERM of its own: every signal
  // joins the one orderly stop instead of cutting it short.
  const stopAll = (reason: string) =>
    (stopped ??= (async () => {
      logger.info({ reason }, 'stopping Sophon');
      for (const s of stoppers.reverse()) {
        try {
          await s.stop();
          logger.info(`${s.name} stopped`);
        } catch (err) {
          logger.error({ err }, `${s.name} did not stop cleanly`);
        }
      }
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      void stopAll(signal).then(() => process.exit(0));
    });
  }

  try {
    await assertPortFree(config.api.host, config.api.port, 'Sophon API', 'SOPHON_API_PORT');
    if (!config.databaseUrl) {
      await stopLeftoverPostgres(path.join(config.home, 'postgres'), logger);
      await assertPortFree('127.0.0.1', config.postgresPort, 'embedded Postgres', 'SOPHON_POSTGRES_PORT');
    }
    if (!config.temporal.address) {
      await stopLeftoverTemporal(path.join(config.home, 'temporal'), logger);
      await assertPortFree('127.0.0.1', config.temporal.port, 'Temporal dev server', 'TEMPORAL_PORT');
      await assertPortFree('127.0.0.1', config.temporal.uiPort, 'Temporal UI', 'TEMPORAL_UI_PORT');
    }

    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      const pg = await startEmbeddedPostgres(path.join(config.home, 'postgres'), config.postgresPort, logger);
      stoppers.push({ name: 'Postgres', stop: pg.stop });
      databaseUrl = pg.url;
    }
    let temporalAddress = config.temporal.address;
    if (!temporalAddress) {
      const temporal = await startEmbeddedTemporal(
        {
          dataDir: path.join(config.home, 'temporal'),
          port: config.temporal.port,
          uiPort: config.temporal.uiPort,
          namespace: config.temporal.namespace,
          cli: config.temporal.cli,
        },
        logger,
      );
      stoppers.push({ name: 'Temporal', stop: temporal.stop });
      temporalAddress = temporal.address;
    }

    await migrate(databaseUrl, logger);
    const masterKey = await loadMasterKey(config, { generate: true });
    const core = await connectCore(config, logger, { databaseUrl, temporalAddress }, masterKey);
    stoppers.push({ name: 'connections', stop: core.close });
    const tokenFile = await ensureAdminToken(core.pool, config.home);
    await chmod(tokenFile, 0o600);

    const deps = await createActivityDeps(config, core.pool, logger, masterKey, temporalAddress);
    const worker = await startSophonWorker({ config, address: temporalAddress, deps });
    stoppers.push({ name: 'worker', stop: worker.stop });
    worker.done.catch(async (err: unknown) => {
      logger.fatal({ err }, 'worker failed');
      await stopAll('worker failed');
      process.exit(1);
    });

    const api = await startApi(core);
    stoppers.push({ name: 'API', stop: api.close });

    const ui = config.temporal.uiUrl ?? `http://localhost:${config.temporal.uiPort}`;
    process.stdout.write(
      [
        '',
        'Sophon is running.',
        `  API:           ${api.url}   (try ${api.url}/readyz)`,
        `  Temporal UI:   ${ui}`,
        `  Admin token:   ${tokenFile}`,
        `  Data:          ${config.home}`,
        '  Stop with Ctrl-C.',
        '',
      ].join('\n') + '\n',
    );
  } catch (err) {
    await stopAll('start-up failed');
    throw err;
  }
}

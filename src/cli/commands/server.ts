/**
 * The commands that run Sophon itself (start, api, worker, migrate, create-token, tools).
 * Their modules are imported when one runs, so the client commands start quickly.
 */
import { Option, type Command } from 'commander';
import { ROLES, type Role } from '../../platform/http/roles.js';
import type { Config } from '../../platform/settings.js';
import type { Logger } from '../../platform/log.js';

async function required(value: string | undefined, variable: string, command: string): Promise<string> {
  if (!value) {
    const { SophonError } = await import('../../platform/errors.js');
    throw new SophonError(
      'CONFIG_INVALID',
      `${variable} must be set for 'sophon ${command}' (it uses an external service; 'sophon start' embeds one)`,
    );
  }
  return value;
}

/** Runs until SIGINT/SIGTERM, then calls `stop` once, however many signals arrive. */
function untilSignal(logger: Logger, stop: () => Promise<void>): Promise<void> {
  let stopping: Promise<void> | undefined;
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (!stopping) logger.info({ signal }, 'stopping');
        stopping ??= stop();
        void stopping.then(resolve);
      });
    }
  });
}

async function runApi(config: Config, logger: Logger) {
  const databaseUrl = await required(config.databaseUrl, 'DATABASE_URL', 'api');
  const temporalAddress = await required(config.temporal.address, 'TEMPORAL_ADDRESS', 'api');
  const [{ migrate }, { loadMasterKey }, { connectCore, startApi }] = await Promise.all([
    import('../../platform/db/migrate.js'),
    import('../../platform/secrets/master-key.js'),
    import('../../runtime.js'),
  ]);
  await migrate(databaseUrl, logger);
  const masterKey = await loadMasterKey(config, { generate: false });
  const core = await connectCore(config, logger, { databaseUrl, temporalAddress }, masterKey);
  const api = await startApi(core);
  logger.info({ url: api.url }, 'Sophon API listening');
  await untilSignal(logger, async () => {
    await api.close();
    await core.close();
  });
}

async function runWorker(config: Config, logger: Logger) {
  const databaseUrl = await required(config.databaseUrl, 'DATABASE_URL', 'worker');
  const address = await required(config.temporal.address, 'TEMPORAL_ADDRESS', 'worker');
  const [{ loadMasterKey }, { createPool }, { createActivityDeps, installRuntimeLogger, startSophonWorker, WORKFLOW_CODE }] =
    await Promise.all([import('../../platform/secrets/master-key.js'), import('../../platform/db/pool.js'), import('../../worker.js')]);
  installRuntimeLogger(logger);
  const masterKey = await loadMasterKey(config, { generate: false });
  const pool = createPool(databaseUrl);
  const deps = await createActivityDeps(config, pool, logger, masterKey, address);
  const running = await startSophonWorker({ config, address, deps });
  logger.info({ taskQueue: config.temporal.taskQueue, address, workflows: WORKFLOW_CODE }, 'Sophon worker running');
  await Promise.race([running.done, untilSignal(logger, running.stop)]);
  await running.stop();
  await pool.end();
}

const withContext = (fn: (config: Config, logger: Logger) => Promise<void>) => async () => {
  const [{ loadConfig }, { createLogger }] = await Promise.all([import('../../platform/settings.js'), import('../../platform/log.js')]);
  const config = loadConfig();
  await fn(config, createLogger(config.logLevel));
};

export function registerServer(program: Command): void {
  program
    .command('start')
    .description('run everything on embedded defaults: Postgres, Temporal dev server with UI, worker and API')
    .action(withContext(async (config, logger) => (await import('../../dev/launcher.js')).runEmbedded(config, logger)));
  program.command('api').description('run the API against DATABASE_URL and TEMPORAL_ADDRESS').action(withContext(runApi));
  program.command('worker').description('run a worker against DATABASE_URL and TEMPORAL_ADDRESS').action(withContext(runWorker));
  program
    .command('migrate')
    .description('apply pending database migrations to DATABASE_URL')
    .action(
      withContext(async (config, logger) => {
        const { migrate } = await import('../../platform/db/migrate.js');
        const applied = await migrate(await required(config.databaseUrl, 'DATABASE_URL', 'migrate'), logger);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      }),
    );
  program
    .command('create-token')
    .description('create an API token in DATABASE_URL and print it once')
    .requiredOption('--name <name>', 'who or what the token is for')
    .addOption(new Option('--role <role>', 'role of the token').choices(ROLES).default('admin'))
    .action(async (opts: { name: string; role: Role }) => {
      const [{ loadConfig }, { createPool }, { tokensRepo }] = await Promise.all([
        import('../../platform/settings.js'),
        import('../../platform/db/pool.js'),
        import('../../features/tokens/repo.js'),
      ]);
      const config = loadConfig();
      const pool = createPool(await required(config.databaseUrl, 'DATABASE_URL', 'create-token'));
      try {
        const { token } = await tokensRepo(pool).create({ name: opts.name, role: opts.role, createdBy: 'sophon create-token' });
        process.stdout.write(token + '\n');
      } finally {
        await pool.end();
      }
    });
  program
    .command('tools')
    .description('install the Temporal CLI into .tools/ when it is not on PATH, and print its path')
    .action(
      withContext(async (_config, logger) => {
        process.stdout.write((await (await import('../../dev/temporal-cli.js')).ensureTemporalCli(logger)) + '\n');
      }),
    );
}

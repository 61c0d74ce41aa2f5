import { Command, Option } from 'commander';
import { loadConfig, type Config } from '../config.js';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { ROLES, tokensRepo, type Role } from '../db/repos/tokens.js';
import { runEmbedded } from '../dev/launcher.js';
import { runDefsValidate } from '../defs/index.js';
import { ensureTemporalCli } from '../dev/temporal-cli.js';
import { SophonError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { connectCore, startApi } from '../runtime.js';
import { loadMasterKey } from '../secrets/master-key.js';
import { createActivityDeps, installRuntimeLogger, startSophonWorker } from '../worker.js';

function required(value: string | undefined, variable: string, command: string): string {
  if (!value) {
    throw new SophonError('CONFIG_INVALID', `${variable} must be set for 'sophon ${command}' (it uses an external service; 'sophon start' embeds one)`);
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
  const databaseUrl = required(config.databaseUrl, 'DATABASE_URL', 'api');
  const temporalAddress = required(config.temporal.address, 'TEMPORAL_ADDRESS', 'api');
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
  const databaseUrl = required(config.databaseUrl, 'DATABASE_URL', 'worker');
  const address = required(config.temporal.address, 'TEMPORAL_ADDRESS', 'worker');
  installRuntimeLogger(logger);
  const masterKey = await loadMasterKey(config, { generate: false });
  const pool = createPool(databaseUrl);
  const deps = await createActivityDeps(config, pool, logger, masterKey, address);
  const running = await startSophonWorker({ config, address, deps });
  logger.info({ taskQueue: config.temporal.taskQueue, address }, 'Sophon worker running');
  await Promise.race([running.done, untilSignal(logger, running.stop)]);
  await running.stop();
  await pool.end();
}

export function buildProgram(): Command {
  const program = new Command('sophon')
    .description('Sophon: deploy, operate and heal big-data clusters over SSH')
    .showHelpAfterError();

  const withContext = (fn: (config: Config, logger: Logger) => Promise<void>) => async () => {
    const config = loadConfig();
    await fn(config, createLogger(config.logLevel));
  };

  program
    .command('start')
    .description('run everything on embedded defaults: Postgres, Temporal dev server with UI, worker and API')
    .action(withContext(runEmbedded));
  program.command('api').description('run the API against DATABASE_URL and TEMPORAL_ADDRESS').action(withContext(runApi));
  program.command('worker').description('run a worker against DATABASE_URL and TEMPORAL_ADDRESS').action(withContext(runWorker));
  program
    .command('migrate')
    .description('apply pending database migrations to DATABASE_URL')
    .action(
      withContext(async (config, logger) => {
        const applied = await migrate(required(config.databaseUrl, 'DATABASE_URL', 'migrate'), logger);
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      }),
    );
  program
    .command('create-token')
    .description('create an API token in DATABASE_URL and print it once')
    .requiredOption('--name <name>', 'who or what the token is for')
    .addOption(new Option('--role <role>', 'role of the token').choices(ROLES).default('admin'))
    .action(async (opts: { name: string; role: Role }) => {
      const config = loadConfig();
      const pool = createPool(required(config.databaseUrl, 'DATABASE_URL', 'create-token'));
      try {
        const { token } = await tokensRepo(pool).create({ name: opts.name, role: opts.role, createdBy: 'sophon create-token' });
        process.stdout.write(token + '\n');
      } finally {
        await pool.end();
      }
    });
  program
    .command('defs')
    .description('service definitions')
    .command('validate')
    .description('check every definition in a directory; prints all problems, exits 1 when there are any')
    .argument('[dir]', 'directory of service definitions', 'service-defs')
    .action(async (dir: string) => {
      process.exitCode = await runDefsValidate(dir, process.stdout);
    });
  program
    .command('tools')
    .description('install the Temporal CLI into .tools/ when it is not on PATH, and print its path')
    .action(
      withContext(async (_config, logger) => {
        process.stdout.write((await ensureTemporalCli(logger)) + '\n');
      }),
    );
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof SophonError) {
      process.stderr.write(`sophon: ${err.message}\n`);
      process.exit(err.code === 'CONFIG_INVALID' ? 2 : 1);
    }
    throw err;
  }
}

await main(process.argv);

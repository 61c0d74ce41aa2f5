import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Logger } from '../platform/log.js';
import { findProcesses, stopProcess } from './leftovers.js';
import { resolveTemporalCli } from './temporal-cli.js';

export interface RunningTemporal {
  address: string;
  stop(): Promise<void>;
}

export interface EmbeddedTemporalOptions {
  /** Directory for the SQLite file; omit for an in-memory server (tests). */
  dataDir?: string;
  ip?: string;
  port?: number;
  uiPort?: number;
  namespace: string;
  cli: string | undefined;
}

const sqliteFile = (dataDir: string) => path.join(dataDir, 'temporal.sqlite');

/** Stops a Temporal dev server on this data directory that an earlier, killed Sophon left running. */
export async function stopLeftoverTemporal(dataDir: string, logger: Logger): Promise<void> {
  const file = sqliteFile(dataDir);
  const pids = await findProcesses((argv) => argv.includes('start-dev') && argv[argv.indexOf('--db-filename') + 1] === file);
  for (const pid of pids) {
    logger.warn({ pid, file }, 'stopping the Temporal dev server an earlier Sophon left running');
    await stopProcess(pid, 'Temporal dev server');
  }
}

/** Starts `temporal server start-dev` (with its UI when a UI port is given). */
export async function startEmbeddedTemporal(opts: EmbeddedTemporalOptions, logger: Logger): Promise<RunningTemporal> {
  const executable = await resolveTemporalCli(opts.cli, logger);
  if (opts.dataDir) await mkdir(opts.dataDir, { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable,
      ip: opts.ip ?? '127.0.0.1',
      ...(opts.port ? { port: opts.port } : {}),
      ...(opts.uiPort ? { ui: true, uiPort: opts.uiPort } : { ui: false }),
      ...(opts.dataDir ? { dbFilename: sqliteFile(opts.dataDir) } : {}),
      namespace: opts.namespace,
      log: { format: 'json', level: 'error' },
    },
  });
  logger.child({ component: 'temporal' }).info({ address: env.address }, 'Temporal dev server ready');
  return { address: env.address, stop: () => env.teardown() };
}

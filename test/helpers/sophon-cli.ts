/** `sophon <args>` run to its exit as its own process, the way an operator types it, for the CLI's own tests. */
import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * Node's arguments that run `sophon` from the TypeScript sources, as tests do; bin/sophon.js
 * runs the compiled dist/ (test/integration/production-entry.test.ts).
 */
export const SOPHON_ARGS = ['--import', import.meta.resolve('tsx'), path.resolve('src/cli/main.ts')];

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliTarget {
  /** HOME and XDG_CONFIG_HOME point here (a temp dir) so no operator's config leaks in. */
  home: string;
  /** SOPHON_URL and SOPHON_TOKEN. */
  url: string;
  token: string;
  /** Added to the environment; undefined removes a variable (e.g. SOPHON_TOKEN, to test login). */
  env?: Record<string, string | undefined>;
}

/** The environment a CLI run gets, also for tests that spawn the binary themselves (a terminal, a run they watch). */
export function cliEnv({ home, url, token, env }: CliTarget): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    SOPHON_URL: url,
    SOPHON_TOKEN: token,
    ...env,
  };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

export function runSophon(args: string[], target: CliTarget, cwd = process.cwd()): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...SOPHON_ARGS, ...args], { env: cliEnv(target), cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A run's exit code and output, for assertion messages. */
export const showRun = (r: CliRun) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

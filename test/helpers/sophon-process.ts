/** `sophon <args>` as its own process group, the way an operator runs it, for tests that start or kill all of Sophon. */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';

export interface SophonProcess {
  child: ChildProcess;
  /** Settles when it prints that it runs; rejects if it exits first. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  output(): string;
}

export function sophonProcess(args: string[], env: NodeJS.ProcessEnv, started: ChildProcess[]): SophonProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => output.includes('Sophon is running') && resolve());
    void exited.then((code) => reject(new Error(`sophon exited with ${code} before it was ready:\n${output}`)));
  });
  // Runs that are expected to fail never become ready; only awaiting `ready` should throw.
  ready.catch(() => undefined);
  return { child, ready, exited, output: () => output };
}

/** Kills what a test started, each run being its own process group. */
export function killAll(started: ChildProcess[]): void {
  for (const child of started) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // that group is gone already
    }
  }
}

/**
 * The environment of a whole `sophon start` of its own: a fresh home, embedded Postgres and
 * Temporal on free ports, the test package repository; `extra` adds or overrides.
 */
export async function embeddedSophonEnv(home: string, extra: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  return {
    ...process.env,
    SOPHON_HOME: home,
    SOPHON_API_PORT: String(await freePort()),
    SOPHON_POSTGRES_PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    SOPHON_LOG_LEVEL: 'warn',
    SOPHON_PACKAGE_REPO: process.env.SOPHON_TEST_PACKAGE_REPO,
    SOPHON_SSH_CONNECT_TIMEOUT_SECONDS: '3',
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    ...extra,
  };
}

/** A JSON request to the API of the `sophon start` that `env` describes. */
export async function callSophon(env: NodeJS.ProcessEnv, method: string, route: string, token: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${env.SOPHON_API_PORT}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as any) };
}

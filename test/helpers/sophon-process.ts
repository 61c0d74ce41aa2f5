/** `sophon <args>` as its own process group, the way an operator runs it, for tests that start or kill all of Sophon. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface SophonProcess {
  child: ChildProcess;
  /** Settles when it prints that it runs; rejects if it exits first. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  output(): string;
}

export function sophonProcess(args: string[], env: NodeJS.ProcessEnv, started: ChildProcess[]): SophonProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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

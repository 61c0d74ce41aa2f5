import { readdir, readFile } from 'node:fs/promises';

/**
 * A Sophon killed without its orderly stop (SIGKILL, a closed terminal) leaves its embedded
 * Postgres and Temporal running, holding their ports and data files. These helpers find
 * exactly those processes — by the data path on their command line — and stop them.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function waitForExit(pid: number, what: string, timeoutMs = 60_000): Promise<void> {
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited > timeoutMs) throw new Error(`${what} (pid ${pid}) did not stop within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function commandLine(pid: number): Promise<string[]> {
  const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return raw.split('\0').filter((a) => a !== '');
}

/** Pids of processes whose command line satisfies `match` (none where /proc is missing). */
export async function findProcesses(match: (argv: string[]) => boolean): Promise<number[]> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const pids: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (match(await commandLine(pid))) pids.push(pid);
  }
  return pids;
}

export async function stopProcess(pid: number, what: string): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  await waitForExit(pid, what);
}

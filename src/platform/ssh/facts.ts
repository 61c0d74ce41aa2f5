/**
 * Host facts: what a host is (OS, kernel, CPUs, memory, disks, Java, clock) gathered with
 * one script over an SSH connection, parsed by pure functions, and checked against a
 * component's prerequisites by a pure function.
 */
import type { SshConnection } from './types.js';
import { sh } from './quote.js';

export interface DiskFacts {
  filesystem: string;
  mountPoint: string;
  totalBytes: number;
  freeBytes: number;
}

export interface HostFacts {
  hostname: string;
  os: { id: string; versionId: string; prettyName: string };
  kernel: string;
  arch: string;
  cpus: number;
  memory: { totalBytes: number; availableBytes: number };
  disks: DiskFacts[];
  installRoot: {
    path: string;
    /** The install root itself or its nearest existing parent (where it will be created). */
    existingPath: string;
    exists: boolean;
    freeBytes: number;
    mountPoint: string;
  };
  /** e.g. "17.0.9"; null when no `java` is on the PATH. */
  javaVersion: string | null;
  /** Which of the probed commands exist on the PATH. */
  commands: Record<string, boolean>;
  /** Host clock minus Sophon's clock, corrected for half the round trip. */
  clockOffsetMs: number;
  gatheredAt: string;
}

/** Commands every Sophon step relies on, probed on every host. */
export const BASE_COMMANDS = ['sh', 'sha256sum', 'tar', 'gzip', 'mkdir', 'mv', 'kill', 'df', 'java', 'systemctl', 'python3'];

export async function gatherFacts(
  conn: SshConnection,
  installRoot: string,
  options: { commands?: string[]; timeoutMs?: number; now?: () => number; signal?: AbortSignal } = {},
): Promise<HostFacts> {
  const now = options.now ?? Date.now;
  const commands = [...new Set([...BASE_COMMANDS, ...(options.commands ?? [])])];
  const { signal } = options;
  const result = await conn.run(factsScript(installRoot, commands), { timeoutMs: options.timeoutMs ?? 60_000, signal });
  const facts = parseFactsOutput(result.stdout, installRoot, commands);
  return { ...facts, clockOffsetMs: await measureClockOffset(conn, now, signal), gatheredAt: new Date(now()).toISOString() };
}

function factsScript(installRoot: string, commands: string[]) {
  return sh`
echo @@hostname; hostname 2>/dev/null || cat /proc/sys/kernel/hostname
echo @@os; cat /etc/os-release 2>/dev/null
echo @@kernel; uname -r
echo @@arch; uname -m
echo @@cpus; getconf _NPROCESSORS_ONLN 2>/dev/null || nproc
echo @@meminfo; cat /proc/meminfo
echo @@installroot; p=${installRoot}; while [ ! -e "$p" ]; do p=$(dirname -- "$p"); done; echo "$p"; df -Pk -- "$p" | tail -n 1
echo @@disks; df -Pk -x tmpfs -x devtmpfs -x overlay -x squashfs 2>/dev/null | tail -n +2
echo @@java; if command -v java >/dev/null 2>&1; then java -version 2>&1 | head -n 1; fi
echo @@commands; for c in ${commands}; do if command -v "$c" >/dev/null 2>&1; then echo "$c yes"; else echo "$c no"; fi; done
echo @@end`;
}

/** Clock offset from the fastest of three `date` round trips. */
async function measureClockOffset(conn: SshConnection, now: () => number, signal: AbortSignal | undefined): Promise<number> {
  let best: { rtt: number; offset: number } | undefined;
  for (let i = 0; i < 3; i++) {
    const before = now();
    const { stdout } = await conn.run(sh`date +%s.%N`, { timeoutMs: 10_000, signal });
    const after = now();
    const remote = Number(stdout.trim()) * 1000;
    const sample = { rtt: after - before, offset: remote - (before + after) / 2 };
    if (best === undefined || sample.rtt < best.rtt) best = sample;
  }
  return Math.round((best as { offset: number }).offset);
}

/** Pure: parses the output of the facts script. */
export function parseFactsOutput(output: string, installRoot: string, commands: string[]): Omit<HostFacts, 'clockOffsetMs' | 'gatheredAt'> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of output.split('\n')) {
    const header = /^@@(\w+)$/.exec(line);
    if (header !== null) {
      current = [];
      sections.set(header[1] as string, current);
    } else current?.push(line);
  }
  const lines = (name: string) => (sections.get(name) ?? []).filter((l) => l.trim() !== '');
  const first = (name: string) => lines(name)[0]?.trim() ?? '';

  const osRelease = parseOsRelease(lines('os').join('\n'));
  const meminfo = parseMeminfo(lines('meminfo'));
  const [existingPath = installRoot, dfLine = ''] = lines('installroot');
  const rootDisk = parseDfLine(dfLine);
  const present = new Map(lines('commands').map((l) => l.split(' ') as [string, string]));

  return {
    hostname: first('hostname'),
    os: { id: osRelease.ID ?? 'unknown', versionId: osRelease.VERSION_ID ?? '', prettyName: osRelease.PRETTY_NAME ?? '' },
    kernel: first('kernel'),
    arch: first('arch'),
    cpus: Number(first('cpus')) || 0,
    memory: { totalBytes: meminfo.MemTotal ?? 0, availableBytes: meminfo.MemAvailable ?? meminfo.MemFree ?? 0 },
    disks: lines('disks')
      .map(parseDfLine)
      .filter((d): d is DiskFacts => d !== undefined),
    installRoot: {
      path: installRoot,
      existingPath,
      exists: existingPath === installRoot,
      freeBytes: rootDisk?.freeBytes ?? 0,
      mountPoint: rootDisk?.mountPoint ?? '',
    },
    javaVersion: parseJavaVersion(first('java')),
    commands: Object.fromEntries(commands.map((c) => [c, present.get(c) === 'yes'])),
  };
}

export function parseOsRelease(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    result[match[1] as string] = (match[2] as string).replace(/^(["'])(.*)\1$/, '$2');
  }
  return result;
}

function parseMeminfo(lines: string[]): Record<string, number> {
  const result: Record<string, number> = {};
  for (const line of lines) {
    const match = /^(\w+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (match !== null) result[match[1] as string] = Number(match[2]) * (line.includes('kB') ? 1024 : 1);
  }
  return result;
}

/** `df -Pk` line: filesystem, 1K-blocks, used, available, capacity, mount point (may hold spaces). */
function parseDfLine(line: string): DiskFacts | undefined {
  const match = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+%\s+(.+)$/.exec(line.trim());
  if (match === null) return undefined;
  return {
    filesystem: match[1] as string,
    totalBytes: Number(match[2]) * 1024,
    freeBytes: Number(match[4]) * 1024,
    mountPoint: match[5] as string,
  };
}

/** `openjdk version "17.0.9" 2023-10-17` → `17.0.9`; `java version "1.8.0_392"` → `1.8.0_392`. */
export function parseJavaVersion(line: string): string | null {
  return /version "([^"]+)"/.exec(line)?.[1] ?? null;
}

export interface Requirements {
  /** Free space needed under the install root. */
  minFreeBytes?: number;
  minMemoryBytes?: number;
  minCpus?: number;
  /** Commands that must be on the PATH (they must be among the probed commands). */
  commands?: string[];
  architectures?: string[];
  /** Largest tolerated clock offset (distributed systems such as ZooKeeper dislike skew). */
  maxClockOffsetMs?: number;
  /** Minimum Java major version, when the component runs on the JVM. */
  minJavaMajor?: number;
}

export interface PrerequisiteProblem {
  check: 'freeSpace' | 'memory' | 'cpus' | 'command' | 'arch' | 'clock' | 'java';
  message: string;
}

/** Pure: what keeps this host from meeting the requirements (empty when it meets them). */
export function checkPrerequisites(facts: HostFacts, requirements: Requirements): { ok: boolean; problems: PrerequisiteProblem[] } {
  const problems: PrerequisiteProblem[] = [];
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  const { minFreeBytes, minMemoryBytes, minCpus, architectures, maxClockOffsetMs, minJavaMajor } = requirements;

  if (minFreeBytes !== undefined && facts.installRoot.freeBytes < minFreeBytes) {
    problems.push({
      check: 'freeSpace',
      message: `${gib(facts.installRoot.freeBytes)} free under ${facts.installRoot.existingPath}, ${gib(minFreeBytes)} needed for ${facts.installRoot.path}`,
    });
  }
  if (minMemoryBytes !== undefined && facts.memory.totalBytes < minMemoryBytes) {
    problems.push({ check: 'memory', message: `${gib(facts.memory.totalBytes)} of memory, ${gib(minMemoryBytes)} needed` });
  }
  if (minCpus !== undefined && facts.cpus < minCpus) {
    problems.push({ check: 'cpus', message: `${facts.cpus} CPUs, ${minCpus} needed` });
  }
  for (const command of requirements.commands ?? []) {
    if (facts.commands[command] !== true) {
      problems.push({ check: 'command', message: `command '${command}' is not installed (not on the PATH)` });
    }
  }
  if (architectures !== undefined && !architectures.includes(facts.arch)) {
    problems.push({ check: 'arch', message: `architecture ${facts.arch} is not supported (supported: ${architectures.join(', ')})` });
  }
  if (maxClockOffsetMs !== undefined && Math.abs(facts.clockOffsetMs) > maxClockOffsetMs) {
    problems.push({
      check: 'clock',
      message: `clock is off by ${facts.clockOffsetMs} ms (at most ${maxClockOffsetMs} ms allowed): enable time synchronisation (chrony/NTP)`,
    });
  }
  if (minJavaMajor !== undefined) {
    const major = javaMajor(facts.javaVersion);
    if (major === null || major < minJavaMajor) {
      problems.push({
        check: 'java',
        message: `Java ${minJavaMajor}+ needed, found ${facts.javaVersion ?? 'no java on the PATH'}`,
      });
    }
  }
  return { ok: problems.length === 0, problems };
}

/** `1.8.0_392` → 8, `17.0.9` → 17. */
export function javaMajor(version: string | null): number | null {
  if (version === null) return null;
  const parts = version.split(/[._-]/).map(Number);
  const major = parts[0] === 1 ? parts[1] : parts[0];
  return major === undefined || Number.isNaN(major) ? null : major;
}

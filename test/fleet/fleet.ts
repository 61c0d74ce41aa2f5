/**
 * A fleet of real OpenSSH daemons on loopback addresses, standing in for cluster hosts.
 * Each host has its own sshd process, address, ed25519 host key, authorized_keys and
 * install root; all state lives in one temp dir. Faults are injected for real: stop a
 * host's sshd, freeze it with SIGSTOP, or replace its host key.
 *
 * Only processes this module started (and their descendants), and processes running under
 * the fleet's install roots (what was started on its hosts), are ever signalled.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { constants as osConstants, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fingerprint } from '../../src/platform/ssh/fingerprint.js';

const SSHD = '/usr/sbin/sshd';

export interface FleetOptions {
  hosts: number;
  /** First loopback address; host i gets base + i. Distinct bases let fleets run in parallel. */
  baseAddress?: string;
  port?: number;
  /** Parent of the fleet's temp dir (default: the OS temp dir). */
  parentDir?: string;
}

export interface FleetHost {
  name: string;
  address: string;
  port: number;
  installRoot: string;
  hostKeyFingerprint: string;
  /** This host's authorized_keys; tests may add or remove keys. */
  authorizedKeysPath: string;
  /** sshd's log (`-e`), one line per event; "Accepted publickey" counts logins. */
  logPath: string;
}

export interface Fleet {
  dir: string;
  hosts: FleetHost[];
  username: string;
  /** Client private key (OpenSSH format) authorized on every host. */
  clientKey: string;
  clientKeyPath: string;
  /** Stops host i's sshd and every session it serves: the host becomes unreachable. */
  stopHost(i: number): Promise<void>;
  startHost(i: number): Promise<void>;
  /** Freezes host i (SIGSTOP on its sshd and sessions): connections hang. */
  pauseHost(i: number): void;
  resumeHost(i: number): void;
  /** Restarts host i with a new host key; returns the new fingerprint. */
  swapHostKey(i: number): Promise<string>;
  /** Number of successful logins recorded in host i's sshd log. */
  loginCount(i: number): number;
  /** Stops every sshd, then the process groups running under the install roots, and deletes the fleet's dir. */
  stop(): Promise<void>;
}

interface HostState {
  host: FleetHost;
  dir: string;
  configPath: string;
  hostKeyPath: string;
  process: ChildProcess | undefined;
}

/** Pids started by live fleets, killed on process exit even when a test crashes. */
const liveFleets = new Set<() => void>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const kill of liveFleets) kill();
  });
  // A signal skips 'exit' handlers unless someone turns it into an exit.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    if (process.listenerCount(sig) === 0) process.once(sig, () => process.exit(128 + osConstants.signals[sig]));
  }
}

export function addressAt(base: string, offset: number): string {
  const parts = base.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255) || parts[0] !== 127) {
    throw new Error(`base address ${base} must be an IPv4 loopback address (127.x.y.z)`);
  }
  const n = ((parts[1] as number) << 16) + ((parts[2] as number) << 8) + (parts[3] as number) + offset;
  if (n >= 1 << 24) throw new Error(`fleet does not fit into 127.0.0.0/8 from ${base}`);
  return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

function generateKey(path: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { stdio: 'ignore' });
}

/** Pids of all descendants of `pid`, from /proc. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // Field 4 (ppid) follows the command name, which is in parentheses and may hold spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(entry));
    children.set(ppid, list);
  }
  const result: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    for (const child of children.get(next) ?? []) {
      result.push(child);
      queue.push(child);
    }
  }
  return result;
}

/** Fields of /proc/<pid>/stat after the command name (which is in parentheses and may hold spaces). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // exited while we looked
  }
}

const readlinkOrEmpty = (path: string) => {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
};

/**
 * Process groups of what runs under one of `roots` (the fleet's install roots): a process
 * without a terminal whose working directory, executable or an argument lies in a root. That is
 * what Sophon starts on a fleet host and leaves running past its SSH session (ZooKeeper's JVM,
 * say). A terminal's processes (an operator's shell or `tail -f` in a root) and this process's
 * own group are never listed.
 */
export function processGroupsUnder(roots: string[]): number[] {
  const own = Number(statFields('self')?.[2]);
  const under = (path: string) => roots.some((root) => path === root || path.includes(`${root}/`) || path.endsWith(root));
  const groups = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    // Fields: state, ppid, pgrp, session, tty_nr.
    if (fields === undefined || Number(fields[4]) !== 0) continue;
    const pgrp = Number(fields[2]);
    if (pgrp <= 1 || pgrp === own) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if ([readlinkOrEmpty(`/proc/${entry}/cwd`), readlinkOrEmpty(`/proc/${entry}/exe`), ...argv].some((p) => p !== '' && under(p)))
      groups.add(pgrp);
  }
  return [...groups];
}

/** Ends the process groups under `roots`: SIGTERM, then SIGKILL for what is left after `graceMs`. */
export async function stopProcessesUnder(roots: string[], graceMs = 3000): Promise<void> {
  const groups = processGroupsUnder(roots);
  for (const g of groups) signal(-g, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = groups;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = left.filter((g) => groupAlive(g));
  }
  for (const g of left) signal(-g, 'SIGKILL');
}

function groupAlive(pgrp: number): boolean {
  try {
    process.kill(-pgrp, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function waitForPort(address: string, port: number, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`sshd on ${address}:${port} exited at start:\n${readFileSync(logPath, 'utf8')}`));
        return;
      }
      const socket = connect({ host: address, port });
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`sshd on ${address}:${port} did not listen within 10 s`));
        else setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

function writeConfig(state: HostState): void {
  const { host } = state;
  writeFileSync(
    state.configPath,
    [
      `ListenAddress ${host.address}:${host.port}`,
      `HostKey ${state.hostKeyPath}`,
      `PidFile ${join(state.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${host.authorizedKeysPath}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // Test state lives in a world-readable temp dir, which StrictModes would refuse.
      'StrictModes no',
      'UsePAM no',
      'UseDNS no',
      'PrintMotd no',
      'MaxStartups 200',
      'LogLevel VERBOSE',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const baseAddress = options.baseAddress ?? '127.0.10.1';
  const port = options.port ?? 2222;
  const dir = mkdtempSync(join(options.parentDir ?? tmpdir(), 'sophon-fleet-'));
  // sshd refuses to start without its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true });

  const clientKeyPath = join(dir, 'client_ed25519');
  generateKey(clientKeyPath, 'sophon-fleet-client');
  const clientPublicKey = readFileSync(`${clientKeyPath}.pub`);

  const states: HostState[] = [];
  for (let i = 0; i < options.hosts; i++) {
    const name = `host${i + 1}`;
    const hostDir = join(dir, name);
    const installRoot = join(hostDir, 'root');
    mkdirSync(installRoot, { recursive: true });
    const hostKeyPath = join(hostDir, 'ssh_host_ed25519_key');
    generateKey(hostKeyPath, name);
    const state: HostState = {
      host: {
        name,
        address: addressAt(baseAddress, i),
        port,
        installRoot,
        hostKeyFingerprint: fingerprint(readFileSync(`${hostKeyPath}.pub`, 'utf8')),
        authorizedKeysPath: join(hostDir, 'authorized_keys'),
        logPath: join(hostDir, 'sshd.log'),
      },
      dir: hostDir,
      configPath: join(hostDir, 'sshd_config'),
      hostKeyPath,
      process: undefined,
    };
    writeFileSync(state.host.authorizedKeysPath, clientPublicKey);
    writeConfig(state);
    states.push(state);
  }

  const killAllNow = () => {
    for (const state of states) {
      const pid = state.process?.pid;
      if (pid === undefined || state.process?.exitCode !== null) continue;
      for (const p of [pid, ...descendants(pid)]) {
        signal(p, 'SIGKILL');
      }
    }
    for (const g of processGroupsUnder(states.map((st) => st.host.installRoot))) signal(-g, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  installExitHook();
  liveFleets.add(killAllNow);

  const stateAt = (i: number): HostState => {
    const state = states[i];
    if (state === undefined) throw new Error(`fleet has no host ${i}`);
    return state;
  };

  async function startHost(i: number): Promise<void> {
    const state = stateAt(i);
    if (state.process !== undefined) return;
    const log = openSync(state.host.logPath, 'a');
    const child = spawn(SSHD, ['-D', '-e', '-f', state.configPath], { stdio: ['ignore', log, log] });
    closeSync(log);
    state.process = child;
    try {
      await waitForPort(state.host.address, state.host.port, child, state.host.logPath);
    } catch (error) {
      await stopHost(i);
      throw error;
    }
  }

  async function stopHost(i: number): Promise<void> {
    const state = stateAt(i);
    const child = state.process;
    if (child === undefined) return;
    state.process = undefined;
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    // Session processes run in their own sessions (sshd calls setsid), so find them by parentage.
    const pids = [child.pid, ...descendants(child.pid)];
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for (const pid of pids) {
      signal(pid, 'SIGTERM');
      signal(pid, 'SIGCONT');
    }
    const timer = setTimeout(() => pids.forEach((pid) => signal(pid, 'SIGKILL')), 3000);
    await exited;
    clearTimeout(timer);
  }

  function signalTree(i: number, sig: NodeJS.Signals): void {
    const pid = stateAt(i).process?.pid;
    if (pid === undefined) throw new Error(`host ${i} is not running`);
    for (const p of [pid, ...descendants(pid)]) signal(p, sig);
  }

  try {
    // Bounded: starting a few hundred sshd processes at once only thrashes a small machine.
    for (let i = 0; i < states.length; i += 16) {
      await Promise.all(states.slice(i, i + 16).map((_, j) => startHost(i + j)));
    }
  } catch (error) {
    killAllNow();
    liveFleets.delete(killAllNow);
    throw error;
  }

  return {
    dir,
    hosts: states.map((s) => s.host),
    username: userInfo().username,
    clientKey: readFileSync(clientKeyPath, 'utf8'),
    clientKeyPath,
    stopHost,
    startHost,
    pauseHost: (i) => signalTree(i, 'SIGSTOP'),
    resumeHost: (i) => signalTree(i, 'SIGCONT'),
    async swapHostKey(i) {
      const state = stateAt(i);
      await stopHost(i);
      rmSync(state.hostKeyPath, { force: true });
      rmSync(`${state.hostKeyPath}.pub`, { force: true });
      generateKey(state.hostKeyPath, state.host.name);
      state.host.hostKeyFingerprint = fingerprint(readFileSync(`${state.hostKeyPath}.pub`, 'utf8'));
      await startHost(i);
      return state.host.hostKeyFingerprint;
    },
    loginCount(i) {
      const log = readFileSync(stateAt(i).host.logPath, 'utf8');
      return log.split('\n').filter((line) => line.includes('Accepted publickey')).length;
    },
    async stop() {
      await Promise.all(states.map((_, i) => stopHost(i)));
      // What Sophon started on the hosts outlives their sshd sessions (daemons detach).
      await stopProcessesUnder(states.map((st) => st.host.installRoot));
      rmSync(dir, { recursive: true, force: true });
      liveFleets.delete(killAllNow);
    },
  };
}

/**
 * Ansible as the benchmarks' yardstick: ansible-core in its own venv under .tools/ (installed
 * from PyPI on first use), an inventory of fleet hosts, and runs timed for wall clock and the
 * controller's CPU — ansible's process tree plus the SSH ControlMaster processes it leaves
 * in the background, which are found by the control path directory this module gives them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { findProcesses } from '../../src/dev/leftovers.js';
import type { Fleet } from '../../test/fleet/fleet.js';
import { processCpuSeconds } from './cpu.js';

const VENV = path.resolve(import.meta.dirname, '../../.tools/ansible-venv');

/** Runs a command and writes the CPU seconds of everything it started (RUSAGE_CHILDREN) to argv[1]. */
const RUSAGE_WRAPPER = `
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(str(usage.ru_utime + usage.ru_stime))
sys.exit(rc)
`;

export interface AnsibleRun {
  ms: number;
  cpuSeconds: number;
}

export interface Ansible {
  version: string;
  /** Writes an inventory of the fleet's first `size` hosts and returns its path. */
  inventory(size: number): string;
  run(tool: 'ansible' | 'ansible-playbook', args: string[]): Promise<AnsibleRun>;
  /** Ends the SSH connections Ansible keeps open (ControlPersist), so the next run starts cold. */
  closeConnections(): Promise<void>;
  stop(): Promise<void>;
}

/** The venv's bin directory, creating the venv and installing ansible-core when missing. */
export function ensureAnsible(): string {
  const bin = path.join(VENV, 'bin');
  if (!existsSync(path.join(bin, 'ansible-playbook'))) {
    console.log(`installing ansible-core into ${path.relative(process.cwd(), VENV)}...`);
    execFileSync('python3', ['-m', 'venv', VENV], { stdio: 'inherit' });
    execFileSync(path.join(bin, 'pip'), ['install', '--quiet', 'ansible-core'], { stdio: 'inherit' });
  }
  return bin;
}

export function createAnsible(fleet: Fleet): Ansible {
  const bin = ensureAnsible();
  const dir = mkdtempSync(path.join(tmpdir(), 'sophon-bench-ansible-'));
  const controlDir = path.join(dir, 'cp');
  const env = {
    ...process.env,
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    // Pipelining is what a tuned Ansible uses: one SSH session per task instead of several.
    ANSIBLE_PIPELINING: 'True',
    ANSIBLE_SSH_ARGS: '-o ControlMaster=auto -o ControlPersist=600s -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR',
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    ANSIBLE_LOCAL_TEMP: path.join(dir, 'tmp'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
  };
  const version = execFileSync(path.join(bin, 'ansible'), ['--version'], { encoding: 'utf8', env }).split('\n')[0]!;

  // A ControlMaster renames itself to "ssh: <control path> [mux]" once it goes to the background.
  const masters = () => findProcesses((argv) => (argv[0] ?? '').startsWith('ssh') && argv.join(' ').includes(controlDir));
  const masterCpu = async () => new Map((await masters()).map((pid) => [pid, processCpuSeconds(pid)]));

  let runs = 0;
  const closeConnections = async () => {
    for (const pid of await masters()) process.kill(pid, 'SIGTERM');
  };

  return {
    version,
    inventory(size) {
      const file = path.join(dir, `inventory-${size}.json`);
      const hosts = Object.fromEntries(
        fleet.hosts.slice(0, size).map((h) => [h.name, { ansible_host: h.address, ansible_port: h.port, install_root: h.installRoot }]),
      );
      const vars = {
        ansible_user: fleet.username,
        ansible_ssh_private_key_file: fleet.clientKeyPath,
        ansible_python_interpreter: '/usr/bin/python3',
      };
      writeFileSync(file, JSON.stringify({ all: { hosts, vars } }, null, 2));
      return file;
    },
    async run(tool, args) {
      const n = ++runs;
      const cpuFile = path.join(dir, `cpu-${n}`);
      const logFile = path.join(dir, `run-${n}.log`);
      const before = await masterCpu();
      const started = performance.now();
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(path.join(bin, 'python'), ['-c', RUSAGE_WRAPPER, cpuFile, path.join(bin, tool), ...args], {
          cwd: dir,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const log: Buffer[] = [];
        child.stdout.on('data', (c: Buffer) => log.push(c));
        child.stderr.on('data', (c: Buffer) => log.push(c));
        child.once('error', reject);
        child.once('close', (exitCode) => {
          writeFileSync(logFile, Buffer.concat(log));
          resolve(exitCode);
        });
      });
      const ms = performance.now() - started;
      if (code !== 0) {
        throw new Error(`${tool} ${args.join(' ')} exited with ${code}:\n${readFileSync(logFile, 'utf8').slice(-6000)}`);
      }
      let cpuSeconds = Number(readFileSync(cpuFile, 'utf8'));
      for (const [pid, cpu] of await masterCpu()) cpuSeconds += cpu - (before.get(pid) ?? 0);
      return { ms, cpuSeconds };
    },
    closeConnections,
    async stop() {
      await closeConnections();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

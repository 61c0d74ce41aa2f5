/**
 * Deploy, rolling restart and removal of node-exporter on 1, 10 and 50 fleet hosts, through
 * the whole stack (API → Temporal → worker → SSH, on embedded Postgres and a Temporal dev
 * server it starts itself), and the same done by Ansible on the same hosts in the same run
 * (bench/ansible/deploy-node-exporter.yml, ansible-core from PyPI in .tools/ansible-venv):
 *   npx tsx bench/deploy.ts [--hosts 1,10,50] [--runs 3,3,1] [--sides sophon,ansible]
 *                           [--base 127.0.100.1] [--profile]
 * Package repository: SOPHON_TEST_PACKAGE_REPO (default .sophon/test-packages).
 * Sophon's SSH connections are warm from bootstrapping the hosts; Ansible's from a `ping`
 * before its first run (ControlPersist). Rolling restarts go N/5 hosts at a time on both.
 * Controller CPU: Sophon's worker + API (this process), Temporal and Postgres; Ansible's
 * process tree and its ControlMaster processes. Host-side CPU: the fleet's sshd processes and
 * the commands they ran (all on this machine, so it competes with the controller).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createAnsible } from './lib/ansible.js';
import { printStepProfile } from './lib/profile.js';
import { startStack, type BenchStack, type Operation } from './lib/stack.js';
import { median, parseSizes, positiveInt, printTable } from './lib/table.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: process.env.BENCH_HOSTS ?? '1,10,50' },
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '3,3,1' },
    sides: { type: 'string', default: 'sophon,ansible' },
    base: { type: 'string', default: '127.0.100.1' },
    profile: { type: 'boolean', default: false },
  },
});
const sizes = parseSizes(values.hosts, 200);
const runsList = values.runs.split(',').map((r) => positiveInt(r, '--runs'));
const runsFor = (i: number) => runsList[Math.min(i, runsList.length - 1)]!;
const sides = new Set(values.sides.split(','));
if (![...sides].every((s) => s === 'sophon' || s === 'ansible')) throw new Error(`--sides expects sophon, ansible or both, got "${values.sides}"`);
const packageRepo = path.resolve(process.env.SOPHON_TEST_PACKAGE_REPO ?? path.join('.sophon', 'test-packages'));
if (!existsSync(path.join(packageRepo, 'index.json'))) {
  throw new Error(`no package repository in ${packageRepo}: set SOPHON_TEST_PACKAGE_REPO or run 'bash scripts/build-packages.sh ${packageRepo}'`);
}
const PLAYBOOK = path.resolve(import.meta.dirname, 'ansible/deploy-node-exporter.yml');
const SOPHON_PORT = 19100;
const ANSIBLE_PORT = 19200;

type Phase = 'deploy' | 'restart' | 'remove';
interface Sample {
  ms: number;
  /** The controller's CPU. */
  cpuSeconds: number;
  /** CPU on the hosts' side (sshd sessions and what they ran). */
  hostCpuSeconds: number;
}
const results = { sophon: new Map<string, Sample[]>(), ansible: new Map<string, Sample[]>() };
const record = (side: keyof typeof results, size: number, phase: Phase, sample: Sample) => {
  const key = `${size}/${phase}`;
  results[side].set(key, [...(results[side].get(key) ?? []), sample]);
  console.log(`  ${side} ${phase}: ${(sample.ms / 1000).toFixed(1)} s, controller ${sample.cpuSeconds.toFixed(1)} CPU-s, hosts ${sample.hostCpuSeconds.toFixed(1)} CPU-s`);
};

/** Runs one operation and measures its wall time and the controller's and hosts' CPU over it. */
async function measured(stack: BenchStack, method: string, route: string, body?: unknown): Promise<Sample & { operation: Operation }> {
  const [cpu, hostCpu] = [stack.controllerCpuSeconds(), stack.hostCpuSeconds()];
  const { ms, operation } = await stack.runOperation(method, route, body);
  return { ms, cpuSeconds: stack.controllerCpuSeconds() - cpu, hostCpuSeconds: stack.hostCpuSeconds() - hostCpu, operation };
}

console.log(`starting Postgres, Temporal and ${Math.max(...sizes)} sshd hosts...`);
const stack = await startStack({ hosts: Math.max(...sizes), base: values.base, packageRepo });
const ansible = createAnsible(stack.fleet);
console.log(`${ansible.version}; package repository ${packageRepo}`);
let lastDeploy: Operation | undefined;
try {
  for (const [i, size] of sizes.entries()) {
    const batchSize = Math.max(1, Math.round(size / 5));
    const forks = String(Math.min(size, 50));
    const cluster = `deploy-${size}`;
    const inventory = ansible.inventory(size);
    if (sides.has('sophon')) await stack.bootstrap(cluster, size);
    if (sides.has('ansible')) await ansible.run('ansible', ['all', '-i', inventory, '-m', 'ping', '-f', forks]);
    const service = `/api/v1/clusters/${cluster}/services`;
    const playbook = async (...args: string[]): Promise<Sample> => {
      const hostCpu = stack.hostCpuSeconds();
      const run = await ansible.run('ansible-playbook', ['-i', inventory, '-f', forks, '-e', `package_repo=${packageRepo}`, '-e', `exporter_port=${ANSIBLE_PORT}`, ...args, PLAYBOOK]);
      return { ...run, hostCpuSeconds: stack.hostCpuSeconds() - hostCpu };
    };

    for (let run = 1; run <= runsFor(i); run++) {
      console.log(`${size} host(s), run ${run} of ${runsFor(i)}:`);
      if (sides.has('sophon')) {
        const deploy = await measured(stack, 'POST', service, {
          service: 'node-exporter',
          version: '1.5.0',
          placement: { exporter: stack.fleet.hosts.slice(0, size).map((h) => h.name) },
          config: { port: SOPHON_PORT },
        });
        record('sophon', size, 'deploy', deploy);
        lastDeploy = deploy.operation;
        record('sophon', size, 'restart', await measured(stack, 'POST', `${service}/node-exporter/actions`, {
          action: 'restart',
          rolling: { batchSize, maxFailures: 0, pauseSeconds: 0 },
        }));
        record('sophon', size, 'remove', await measured(stack, 'DELETE', `${service}/node-exporter`));
      }
      if (sides.has('ansible')) {
        record('ansible', size, 'deploy', await playbook());
        record('ansible', size, 'restart', await playbook('--tags', 'restart', '-e', `batch_size=${batchSize}`));
        record('ansible', size, 'remove', await playbook('--tags', 'cleanup'));
      }
    }
  }
} finally {
  await ansible.stop();
  await stack.stop();
}

const med = (side: keyof typeof results, size: number, phase: Phase, key: keyof Sample) => {
  const samples = results[side].get(`${size}/${phase}`);
  return samples ? median(samples.map((s) => s[key])) : NaN;
};
const fmt = (n: number, digits = 1) => (Number.isNaN(n) ? '-' : n.toFixed(digits));
const first = sizes[0]!;
printTable(
  `node-exporter deploy and rolling restart (batch N/5), Sophon vs Ansible; medians; x = time(N)/time(${first}); CPU = controller CPU of the deploy`,
  ['N', 'runs', 'Sophon deploy s', 'x', 'Ansible deploy s', 'x', 'Sophon/Ansible', 'Sophon restart s', 'Ansible restart s', 'CPU-s/host Sophon', 'CPU-s/host Ansible', 'host-side CPU-s/host Sophon', 'Ansible'],
  sizes.map((n, i) => {
    const [sophon, ans] = [med('sophon', n, 'deploy', 'ms'), med('ansible', n, 'deploy', 'ms')];
    return [
      String(n),
      String(runsFor(i)),
      fmt(sophon / 1000),
      fmt(sophon / med('sophon', first, 'deploy', 'ms')),
      fmt(ans / 1000),
      fmt(ans / med('ansible', first, 'deploy', 'ms')),
      fmt(sophon / ans, 2),
      fmt(med('sophon', n, 'restart', 'ms') / 1000),
      fmt(med('ansible', n, 'restart', 'ms') / 1000),
      fmt(med('sophon', n, 'deploy', 'cpuSeconds') / n, 2),
      fmt(med('ansible', n, 'deploy', 'cpuSeconds') / n, 2),
      fmt(med('sophon', n, 'deploy', 'hostCpuSeconds') / n, 2),
      fmt(med('ansible', n, 'deploy', 'hostCpuSeconds') / n, 2),
    ];
  }),
);
printTable(
  'Restart and removal: controller CPU per host, and removal wall time',
  ['N', 'restart CPU-s/host Sophon', 'Ansible', 'Sophon remove s', 'Ansible cleanup s', 'remove CPU-s/host Sophon', 'Ansible'],
  sizes.map((n) => [
    String(n),
    fmt(med('sophon', n, 'restart', 'cpuSeconds') / n, 2),
    fmt(med('ansible', n, 'restart', 'cpuSeconds') / n, 2),
    fmt(med('sophon', n, 'remove', 'ms') / 1000),
    fmt(med('ansible', n, 'remove', 'ms') / 1000),
    fmt(med('sophon', n, 'remove', 'cpuSeconds') / n, 2),
    fmt(med('ansible', n, 'remove', 'cpuSeconds') / n, 2),
  ]),
);
if (values.profile && lastDeploy) printStepProfile(`Where the time went: the last Sophon deploy (${sizes.at(-1)} hosts)`, lastDeploy);

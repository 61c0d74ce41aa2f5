/**
 * Bootstrap through the whole stack — API, Temporal workflows, worker, SSH — against a real
 * sshd fleet, on embedded Postgres and a Temporal dev server it starts itself, next to
 * Ansible's fact gathering (`ansible all -m setup -f N`) on the same hosts in the same run:
 *   npx tsx bench/bootstrap.ts [--hosts 1,10,50] [--runs 3] [--base 127.0.101.1] [--profile]
 * Both start from cold SSH connections in every run. Controller CPU: Sophon's worker + API
 * (this process), Temporal and Postgres; Ansible's process tree and its ControlMaster
 * processes. Host-side CPU: the fleet's sshd processes and the commands they ran (all on this
 * machine, so it competes with the controller). Sophon's wall time is the operation's own
 * (created → finished). `--profile` prints where the last bootstrap's time went, step by step.
 */
import { parseArgs } from 'node:util';
import { createAnsible } from './lib/ansible.js';
import { printStepProfile } from './lib/profile.js';
import { startStack, type Operation, type Usage } from './lib/stack.js';
import { median, parseSizes, positiveInt, printTable } from './lib/table.js';

const { values } = parseArgs({
  options: {
    hosts: { type: 'string', default: process.env.BENCH_HOSTS ?? '1,10,50' },
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '3' },
    base: { type: 'string', default: '127.0.101.1' },
    profile: { type: 'boolean', default: false },
  },
});
const sizes = parseSizes(values.hosts, 200);
const runs = positiveInt(values.runs, '--runs');

console.log(`starting Postgres, Temporal and ${Math.max(...sizes)} sshd hosts...`);
const stack = await startStack({ hosts: Math.max(...sizes), base: values.base });
const ansible = createAnsible(stack.fleet);
console.log(`${ansible.version}; ${runs} run(s) per size`);

type Side = 'sophon' | 'ansible';
const results = new Map<string, Usage[]>();
const parts = ({ cpuParts: p }: Usage) =>
  p ? ` (worker ${p.worker.toFixed(1)}, Temporal ${p.temporal.toFixed(1)}, Postgres ${p.postgres.toFixed(1)})` : '';
const record = (side: Side, size: number, usage: Usage) => {
  results.set(`${side}/${size}`, [...(results.get(`${side}/${size}`) ?? []), usage]);
  return `${side} ${(usage.ms / 1000).toFixed(1)} s, controller ${usage.cpuSeconds.toFixed(1)} CPU-s${parts(usage)}, hosts ${usage.hostCpuSeconds.toFixed(1)} CPU-s, ${usage.sshSessions} SSH sessions, ${usage.sshLogins} logins`;
};
let largest: Operation | undefined;
try {
  for (const size of sizes) {
    const inventory = ansible.inventory(size);
    for (let run = 1; run <= runs; run++) {
      stack.closeSshConnections();
      const cluster = `bench-${size}-${run}`;
      await stack.runOperation('POST', '/api/v1/clusters', { name: cluster });
      const bootstrap = await stack.measureOperation('POST', `/api/v1/clusters/${cluster}/hosts`, stack.hostsBody(size));
      largest = bootstrap.operation;
      const sophon = record('sophon', size, bootstrap.usage);

      await ansible.closeConnections();
      const used = stack.meter();
      const setup = await ansible.run('ansible', ['all', '-i', inventory, '-m', 'setup', '-f', String(Math.min(size, 50))]);
      const theirs = record('ansible', size, { ...used(), ms: setup.ms, cpuSeconds: setup.cpuSeconds, cpuParts: undefined });
      console.log(`${size} host(s), run ${run}: ${sophon}; ${theirs}`);
    }
  }
} finally {
  await ansible.stop();
  await stack.stop();
}

const med = (side: Side, size: number, key: Exclude<keyof Usage, 'cpuParts'>) => median(results.get(`${side}/${size}`)!.map((u) => u[key]));
const perHost = (side: Side, size: number, key: Exclude<keyof Usage, 'cpuParts'>) => (med(side, size, key) / size).toFixed(2);
const first = sizes[0]!;
printTable(
  `Bootstrap (connect, pin, facts, prerequisites, install root) vs Ansible setup; medians of ${runs} run(s); x = time(N)/time(${first})`,
  [
    'N',
    'Sophon bootstrap s',
    'x',
    'Ansible setup s',
    'x',
    'Sophon/Ansible',
    'CPU-s/host Sophon',
    'Ansible',
    'host-side CPU-s/host Sophon',
    'Ansible',
    'SSH sessions/host Sophon',
    'Ansible',
  ],
  sizes.map((n) => [
    String(n),
    (med('sophon', n, 'ms') / 1000).toFixed(1),
    (med('sophon', n, 'ms') / med('sophon', first, 'ms')).toFixed(1),
    (med('ansible', n, 'ms') / 1000).toFixed(1),
    (med('ansible', n, 'ms') / med('ansible', first, 'ms')).toFixed(1),
    (med('sophon', n, 'ms') / med('ansible', n, 'ms')).toFixed(2),
    perHost('sophon', n, 'cpuSeconds'),
    perHost('ansible', n, 'cpuSeconds'),
    perHost('sophon', n, 'hostCpuSeconds'),
    perHost('ansible', n, 'hostCpuSeconds'),
    (med('sophon', n, 'sshSessions') / n).toFixed(1),
    (med('ansible', n, 'sshSessions') / n).toFixed(1),
  ]),
);
if (values.profile && largest) printStepProfile(`Where the time went: the last bootstrap (${sizes.at(-1)} hosts)`, largest);

/**
 * Bootstrap through the whole stack — API, Temporal workflows, worker, SSH — against a real
 * sshd fleet, on embedded Postgres and a Temporal dev server it starts itself, next to
 * Ansible's fact gathering (`ansible all -m setup -f N`) on the same hosts in the same run:
 *   npx tsx bench/bootstrap.ts [--hosts 1,10,50] [--runs 3] [--base 127.0.101.1] [--profile]
 * Both start from cold SSH connections in every run. Controller CPU: Sophon's worker + API
 * (this process), Temporal and Postgres; Ansible's process tree and its ControlMaster
 * processes. Host-side CPU: the fleet's sshd processes and the commands they ran (all on this
 * machine, so it competes with the controller). `--profile` prints where the time of the largest bootstrap went, step by step.
 */
import { parseArgs } from 'node:util';
import { createAnsible } from './lib/ansible.js';
import { printStepProfile } from './lib/profile.js';
import { startStack, type Operation } from './lib/stack.js';
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

interface Sample {
  sophonMs: number;
  sophonCpu: number;
  sophonHostCpu: number;
  ansibleMs: number;
  ansibleCpu: number;
  ansibleHostCpu: number;
}
const results = new Map<number, Sample[]>();
let largest: Operation | undefined;
try {
  for (const size of sizes) {
    const inventory = ansible.inventory(size);
    for (let run = 1; run <= runs; run++) {
      stack.closeSshConnections();
      const [cpu, sophonHostBefore] = [stack.controllerCpuSeconds(), stack.hostCpuSeconds()];
      const { ms, operation } = await stack.bootstrap(`bench-${size}-${run}`, size);
      const [sophonCpu, sophonHostCpu] = [stack.controllerCpuSeconds() - cpu, stack.hostCpuSeconds() - sophonHostBefore];
      largest = operation;

      await ansible.closeConnections();
      const ansibleHostBefore = stack.hostCpuSeconds();
      const setup = await ansible.run('ansible', ['all', '-i', inventory, '-m', 'setup', '-f', String(Math.min(size, 50))]);
      const ansibleHostCpu = stack.hostCpuSeconds() - ansibleHostBefore;
      const sample = { sophonMs: ms, sophonCpu, sophonHostCpu, ansibleMs: setup.ms, ansibleCpu: setup.cpuSeconds, ansibleHostCpu };
      results.set(size, [...(results.get(size) ?? []), sample]);
      console.log(
        `${size} host(s), run ${run}: Sophon ${(ms / 1000).toFixed(1)} s, ${sophonCpu.toFixed(1)} CPU-s, hosts ${sophonHostCpu.toFixed(1)} CPU-s; ` +
          `Ansible ${(setup.ms / 1000).toFixed(1)} s, ${setup.cpuSeconds.toFixed(1)} CPU-s, hosts ${ansibleHostCpu.toFixed(1)} CPU-s`,
      );
    }
  }
} finally {
  await ansible.stop();
  await stack.stop();
}

const med = (size: number, key: keyof Sample) => median(results.get(size)!.map((s) => s[key]));
const one = { sophon: med(sizes[0]!, 'sophonMs'), ansible: med(sizes[0]!, 'ansibleMs') };
const rows = sizes.map((n) => {
  const [sophon, setup] = [med(n, 'sophonMs'), med(n, 'ansibleMs')];
  return [
    String(n),
    (sophon / 1000).toFixed(1),
    (sophon / one.sophon).toFixed(1),
    (setup / 1000).toFixed(1),
    (setup / one.ansible).toFixed(1),
    (sophon / setup).toFixed(2),
    (med(n, 'sophonCpu') / n).toFixed(2),
    (med(n, 'ansibleCpu') / n).toFixed(2),
    (med(n, 'sophonHostCpu') / n).toFixed(2),
    (med(n, 'ansibleHostCpu') / n).toFixed(2),
  ];
});
printTable(
  `Bootstrap (connect, pin, facts, prerequisites, install root) vs Ansible setup; medians of ${runs} run(s); time(N)/time(${sizes[0]})`,
  ['N', 'Sophon bootstrap s', 'x', 'Ansible setup s', 'x', 'Sophon/Ansible', 'CPU-s/host Sophon', 'CPU-s/host Ansible', 'host-side CPU-s/host Sophon', 'Ansible'],
  rows,
);
if (values.profile && largest) printStepProfile(`Where the time went: the last bootstrap (${sizes.at(-1)} hosts)`, largest);

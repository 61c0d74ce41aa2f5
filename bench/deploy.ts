/**
 * Deploy, rolling restart, reconfigure, upgrade and removal of node-exporter on 1, 10 and 50 fleet hosts, through
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
 * Sophon's wall time is the operation's own (created → finished); Ansible's is the playbook run.
 * Sophon only: a reconfigure that needs a restart (disabledCollectors, rolled in the definition's
 * batches of 5) and an upgrade 1.5.0 → 1.9.0 (Debian bookworm's and trixie's builds, batches of
 * 5 after pre-checks), each with its wall time split, from the recorded steps, into health gates,
 * other host steps and the time between steps.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createAnsible } from './lib/ansible.js';
import { gateSplit, printStepProfile, type GateSplit } from './lib/profile.js';
import { startStack, type Operation, type Usage } from './lib/stack.js';
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
if (![...sides].every((s) => s === 'sophon' || s === 'ansible'))
  throw new Error(`--sides expects sophon, ansible or both, got "${values.sides}"`);
const packageRepo = path.resolve(process.env.SOPHON_TEST_PACKAGE_REPO ?? path.join('.sophon', 'test-packages'));
if (!existsSync(path.join(packageRepo, 'index.json'))) {
  throw new Error(
    `no package repository in ${packageRepo}: set SOPHON_TEST_PACKAGE_REPO or run 'bash scripts/build-packages.sh ${packageRepo}'`,
  );
}
// The upgrade's target: a second real Debian build in the repository (scripts/build-packages.sh).
const FROM_VERSION = '1.5.0';
const TO_VERSION = '1.9.0';
const index = JSON.parse(readFileSync(path.join(packageRepo, 'index.json'), 'utf8')) as {
  packages: Array<{ service: string; version: string }>;
};
if (!index.packages.some((p) => p.service === 'node-exporter' && p.version === TO_VERSION)) {
  throw new Error(
    `${packageRepo} has no node-exporter ${TO_VERSION} for the upgrade: rebuild it with 'bash scripts/build-packages.sh <dir>'`,
  );
}
const PLAYBOOK = path.resolve(import.meta.dirname, 'ansible/deploy-node-exporter.yml');
const SOPHON_PORT = 19100;
const ANSIBLE_PORT = 19200;

type Phase = 'deploy' | 'restart' | 'reconfigure' | 'upgrade' | 'remove';
type Side = 'sophon' | 'ansible';
const results = new Map<string, Usage[]>();
const splits = new Map<string, GateSplit[]>();
const parts = ({ cpuParts: p }: Usage) =>
  p ? ` (worker ${p.worker.toFixed(1)}, Temporal ${p.temporal.toFixed(1)}, Postgres ${p.postgres.toFixed(1)})` : '';
const record = (side: Side, size: number, phase: Phase, usage: Usage) => {
  results.set(`${side}/${size}/${phase}`, [...(results.get(`${side}/${size}/${phase}`) ?? []), usage]);
  console.log(
    `  ${side} ${phase}: ${(usage.ms / 1000).toFixed(1)} s, controller ${usage.cpuSeconds.toFixed(1)} CPU-s${parts(usage)}, ` +
      `hosts ${usage.hostCpuSeconds.toFixed(1)} CPU-s, ${usage.sshSessions} SSH sessions, ${usage.sshLogins} logins`,
  );
};

console.log(`starting Postgres, Temporal and ${Math.max(...sizes)} sshd hosts...`);
const stack = await startStack({ hosts: Math.max(...sizes), base: values.base, packageRepo });
const ansible = createAnsible(stack.fleet);
console.log(`${ansible.version}; package repository ${packageRepo}`);
const last: { size?: number; deploy?: Operation; restart?: Operation; reconfigure?: Operation; upgrade?: Operation } = {};
// A failed operation or playbook stops the runs, but the numbers gathered so far are still printed.
let failure: unknown;
try {
  for (const [i, size] of sizes.entries()) {
    const batchSize = Math.max(1, Math.round(size / 5));
    const forks = String(Math.min(size, 50));
    const cluster = `deploy-${size}`;
    const inventory = ansible.inventory(size);
    if (sides.has('sophon')) await stack.bootstrap(cluster, size);
    if (sides.has('ansible')) await ansible.run('ansible', ['all', '-i', inventory, '-m', 'ping', '-f', forks]);
    const service = `/api/v1/clusters/${cluster}/services`;
    const playbook = async (...args: string[]): Promise<Usage> => {
      const used = stack.meter();
      const run = await ansible.run('ansible-playbook', [
        '-i',
        inventory,
        '-f',
        forks,
        '-e',
        `package_repo=${packageRepo}`,
        '-e',
        `exporter_port=${ANSIBLE_PORT}`,
        ...args,
        PLAYBOOK,
      ]);
      return { ...used(), ms: run.ms, cpuSeconds: run.cpuSeconds, cpuParts: undefined };
    };

    for (let run = 1; run <= runsFor(i); run++) {
      console.log(`${size} host(s), run ${run} of ${runsFor(i)}:`);
      if (sides.has('sophon')) {
        const deploy = await stack.measureOperation('POST', service, {
          service: 'node-exporter',
          version: FROM_VERSION,
          placement: { exporter: stack.fleet.hosts.slice(0, size).map((h) => h.name) },
          config: { port: SOPHON_PORT },
        });
        record('sophon', size, 'deploy', deploy.usage);
        Object.assign(last, { size, deploy: deploy.operation, restart: undefined, reconfigure: undefined, upgrade: undefined });
        const rolling = { batchSize, maxFailures: 0, pauseSeconds: 0 };
        const restart = await stack.measureOperation('POST', `${service}/node-exporter/actions`, { action: 'restart', rolling });
        record('sophon', size, 'restart', restart.usage);
        last.restart = restart.operation;
        // Rolled in the definition's batches (the config API takes no rolling override); the
        // upgrade is left to the same policy so that the two compare.
        for (const [phase, method, route, body] of [
          ['reconfigure', 'PUT', `${service}/node-exporter/config`, { values: { disabledCollectors: 'arp' }, note: 'bench' }],
          ['upgrade', 'POST', `${service}/node-exporter/upgrade`, { version: TO_VERSION }],
        ] as const) {
          const measured = await stack.measureOperation(method, route, body);
          record('sophon', size, phase, measured.usage);
          const split = gateSplit(measured.operation);
          splits.set(`${size}/${phase}`, [...(splits.get(`${size}/${phase}`) ?? []), split]);
          console.log(
            `    health gates ${(split.healthMs / 1000).toFixed(1)} s, other host steps ${(split.hostMs / 1000).toFixed(1)} s, between steps ${(split.betweenMs / 1000).toFixed(1)} s`,
          );
          last[phase] = measured.operation;
        }
        record('sophon', size, 'remove', (await stack.measureOperation('DELETE', `${service}/node-exporter`)).usage);
      }
      if (sides.has('ansible')) {
        record('ansible', size, 'deploy', await playbook());
        record('ansible', size, 'restart', await playbook('--tags', 'restart', '-e', `batch_size=${batchSize}`));
        record('ansible', size, 'remove', await playbook('--tags', 'cleanup'));
      }
    }
  }
} catch (err) {
  failure = err;
} finally {
  await ansible.stop();
  await stack.stop();
}

const med = (side: Side, size: number, phase: Phase, key: Exclude<keyof Usage, 'cpuParts'>) => {
  const samples = results.get(`${side}/${size}/${phase}`);
  return samples ? median(samples.map((u) => u[key])) : NaN;
};
const fmt = (n: number, digits = 1) => (Number.isNaN(n) ? '-' : n.toFixed(digits));
const perHost = (side: Side, size: number, phase: Phase, key: Exclude<keyof Usage, 'cpuParts'>) =>
  fmt(med(side, size, phase, key) / size, 2);
const first = sizes[0]!;
printTable(
  `node-exporter deploy and rolling restart (batch N/5), Sophon vs Ansible; medians; x = time(N)/time(${first}); CPU = of the deploy`,
  [
    'N',
    'runs',
    'Sophon deploy s',
    'x',
    'Ansible deploy s',
    'x',
    'Sophon/Ansible',
    'Sophon restart s',
    'Ansible restart s',
    'CPU-s/host Sophon',
    'Ansible',
  ],
  sizes.map((n, i) => {
    const [sophon, theirs] = [med('sophon', n, 'deploy', 'ms'), med('ansible', n, 'deploy', 'ms')];
    return [
      String(n),
      String(runsFor(i)),
      fmt(sophon / 1000),
      fmt(sophon / med('sophon', first, 'deploy', 'ms')),
      fmt(theirs / 1000),
      fmt(theirs / med('ansible', first, 'deploy', 'ms')),
      fmt(sophon / theirs, 2),
      fmt(med('sophon', n, 'restart', 'ms') / 1000),
      fmt(med('ansible', n, 'restart', 'ms') / 1000),
      perHost('sophon', n, 'deploy', 'cpuSeconds'),
      perHost('ansible', n, 'deploy', 'cpuSeconds'),
    ];
  }),
);
const splitOf = (n: number, phase: Phase, key: keyof GateSplit) => median((splits.get(`${n}/${phase}`) ?? []).map((g) => g[key]));
const share = (n: number, phase: Phase, key: keyof GateSplit) => {
  const part = splitOf(n, phase, key);
  return `${fmt(part / 1000)} (${fmt((100 * part) / splitOf(n, phase, 'wallMs'), 0)}%)`;
};
if (sides.has('sophon')) {
  printTable(
    `node-exporter reconfigure (restart needed) and upgrade ${FROM_VERSION} → ${TO_VERSION}, Sophon, rolling in batches of 5; medians; x = time(N)/time(${first}); ` +
      'gates = wall time with a health step running, host = other steps running, between = no step running',
    [
      'N',
      'reconf s',
      'x',
      'gates s',
      'host s',
      'between s',
      'health p50 ms',
      'upgrade s',
      'x',
      'gates s',
      'host s',
      'between s',
      'health p50 ms',
      'CPU-s/host reconf',
      'upgrade',
    ],
    sizes.map((n) => [
      String(n),
      ...(['reconfigure', 'upgrade'] as const).flatMap((p) => [
        fmt(med('sophon', n, p, 'ms') / 1000),
        fmt(med('sophon', n, p, 'ms') / med('sophon', first, p, 'ms')),
        share(n, p, 'healthMs'),
        share(n, p, 'hostMs'),
        share(n, p, 'betweenMs'),
        fmt(splitOf(n, p, 'healthStepP50Ms'), 0),
      ]),
      perHost('sophon', n, 'reconfigure', 'cpuSeconds'),
      perHost('sophon', n, 'upgrade', 'cpuSeconds'),
    ]),
  );
}
const phases: Phase[] = ['deploy', 'restart', 'remove'];
printTable(
  'Per host and phase, Sophon / Ansible: controller CPU-s, host-side CPU-s, SSH sessions; and removal wall time',
  ['N', ...phases.flatMap((p) => [`${p} CPU-s`, 'host CPU-s', 'sessions']), 'remove s'],
  sizes.map((n) => [
    String(n),
    ...phases.flatMap((p) => [
      `${perHost('sophon', n, p, 'cpuSeconds')} / ${perHost('ansible', n, p, 'cpuSeconds')}`,
      `${perHost('sophon', n, p, 'hostCpuSeconds')} / ${perHost('ansible', n, p, 'hostCpuSeconds')}`,
      `${fmt(med('sophon', n, p, 'sshSessions') / n)} / ${fmt(med('ansible', n, p, 'sshSessions') / n)}`,
    ]),
    `${fmt(med('sophon', n, 'remove', 'ms') / 1000)} / ${fmt(med('ansible', n, 'remove', 'ms') / 1000)}`,
  ]),
);
if (values.profile && last.deploy) printStepProfile(`Where the time went: the last Sophon deploy (${last.size} hosts)`, last.deploy);
if (values.profile && last.restart)
  printStepProfile(`Where the time went: the last Sophon rolling restart (${last.size} hosts)`, last.restart);
if (values.profile && last.reconfigure)
  printStepProfile(`Where the time went: the last Sophon reconfigure (${last.size} hosts)`, last.reconfigure);
if (values.profile && last.upgrade) printStepProfile(`Where the time went: the last Sophon upgrade (${last.size} hosts)`, last.upgrade);
if (failure !== undefined) {
  console.error('\nstopped early:', failure);
  process.exitCode = 1;
}

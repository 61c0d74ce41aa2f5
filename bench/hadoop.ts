/**
 * The Hadoop stack through the whole of Sophon on four fleet hosts: ZooKeeper, HA HDFS (two
 * NameNodes, three JournalNodes, two ZKFCs, four DataNodes) and YARN (a ResourceManager and
 * three NodeManagers), from the hadoop package the package script builds.
 *   npx tsx bench/hadoop.ts [--base 127.0.102.1] [--profile small|server]
 * Package repository: SOPHON_TEST_PACKAGE_REPO (default .sophon/test-packages).
 * Prints: each deploy's time per phase (from its step records) and controller CPU; the resident
 * memory of every JVM beside the heap it was given (-Xmx, the limit of this run); an HDFS rolling
 * restart's time per host (first step to last step on that host) and its health gates.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startStack, type Operation } from './lib/stack.js';
import { printTable } from './lib/table.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string', default: '127.0.102.1' },
    profile: { type: 'string', default: 'small' },
  },
});
if (values.profile !== 'small' && values.profile !== 'server')
  throw new Error(`--profile expects small or server, got "${values.profile}"`);
const packageRepo = path.resolve(process.env.SOPHON_TEST_PACKAGE_REPO ?? path.join('.sophon', 'test-packages'));
if (!existsSync(path.join(packageRepo, 'index.json'))) {
  throw new Error(
    `no package repository in ${packageRepo}: set SOPHON_TEST_PACKAGE_REPO or run 'bash scripts/build-packages.sh ${packageRepo}'`,
  );
}

const CLUSTER = 'hadoop';
const HEAPS = { namenode: 128, datanode: 96, journalnode: 64, zkfc: 64, resourcemanager: 160, nodemanager: 128, server: 64 };
const PLACEMENTS = {
  zookeeper: { server: ['n0', 'n1', 'n2'] },
  hdfs: { journalnode: ['n0', 'n1', 'n2'], namenode: ['n0', 'n1'], zkfc: ['n0', 'n1'], datanode: ['n0', 'n1', 'n2', 'n3'] },
  yarn: { resourcemanager: ['n3'], nodemanager: ['n1', 'n2', 'n3'] },
} satisfies Record<string, Record<string, string[]>>;
const CONFIG = {
  zookeeper: { heapMb: HEAPS.server },
  hdfs: {
    namenodeHeapMb: HEAPS.namenode,
    datanodeHeapMb: HEAPS.datanode,
    journalnodeHeapMb: HEAPS.journalnode,
    zkfcHeapMb: HEAPS.zkfc,
    replication: 2,
    jvmProfile: values.profile,
  },
  yarn: {
    resourcemanagerHeapMb: HEAPS.resourcemanager,
    nodemanagerHeapMb: HEAPS.nodemanager,
    nodeMemoryMb: 1024,
    minAllocationMb: 128,
    containerMb: 256,
    // The fleet's hosts share one machine, and the shuffle service listens on every address.
    shufflePort: 0,
    jvmProfile: values.profile,
  },
};

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const span = (steps: NonNullable<Operation['steps']>) => {
  const starts = steps.map((x) => Date.parse(x.startedAt ?? '')).filter(Number.isFinite);
  const ends = steps.map((x) => Date.parse(x.finishedAt ?? '')).filter(Number.isFinite);
  return Math.max(...ends) - Math.min(...starts);
};
const groupBy = <T>(items: T[], key: (item: T) => string) => {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
};

console.log(`starting Postgres, Temporal and 4 sshd hosts from ${values.base}...`);
const stack = await startStack({ hosts: 4, base: values.base, packageRepo, env: { SOPHON_SSH_CONNECT_TIMEOUT_SECONDS: '5' } });
try {
  await stack.bootstrap(CLUSTER, 4);
  const installRoot = (hostname: string) => stack.fleet.hosts.find((h) => h.name === hostname)!.installRoot;

  const phaseRows: string[][] = [];
  const totalRows: string[][] = [];
  for (const service of ['zookeeper', 'hdfs', 'yarn'] as const) {
    console.log(`deploying ${service}...`);
    const { operation, usage } = await stack.measureOperation('POST', `/api/v1/clusters/${CLUSTER}/services`, {
      service,
      placement: PLACEMENTS[service],
      config: CONFIG[service],
    });
    for (const [phase, steps] of groupBy(operation.steps ?? [], (x) => x.phase ?? '')) {
      phaseRows.push([service, phase, String(steps.length), seconds(span(steps))]);
    }
    totalRows.push([service, seconds(usage.ms), usage.cpuSeconds.toFixed(1), usage.hostCpuSeconds.toFixed(1), String(usage.sshSessions)]);
  }
  printTable('Deploy, per phase (steps in the phase, first start to last end)', ['service', 'phase', 'steps', 's'], phaseRows);
  printTable(
    "Deploy, per service (wall time is the operation's; host CPU includes the JVMs the steps start)",
    ['service', 'wall s', 'controller CPU-s', 'host CPU-s', 'SSH sessions'],
    totalRows,
  );

  const rssRows: string[][] = [];
  for (const [service, roles] of Object.entries(PLACEMENTS)) {
    for (const [role, hosts] of Object.entries(roles)) {
      for (const h of hosts) {
        const pid = readFileSync(path.join(installRoot(h), service, 'run', role, `${role}.pid`), 'utf8').trim();
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
        const heap = HEAPS[role as keyof typeof HEAPS];
        rssRows.push([
          `${service}/${role}`,
          h,
          String(Math.round(kib('VmRSS') / 1024)),
          String(heap),
          (kib('VmRSS') / 1024 / heap).toFixed(1),
        ]);
      }
    }
  }
  printTable('Resident memory of every JVM beside its heap limit (-Xmx)', ['role', 'host', 'RSS MiB', 'heap MiB', 'RSS / heap'], rssRows);

  console.log('rolling restart of HDFS...');
  const { operation: restart, usage } = await stack.measureOperation('POST', `/api/v1/clusters/${CLUSTER}/services/hdfs/actions`, {
    action: 'restart',
  });
  const restartRows: string[][] = [];
  for (const [key, steps] of groupBy(restart.steps ?? [], (x) => `${x.phase} ${x.host}`)) {
    const health = steps.filter((x) => x.step === 'health').reduce((sum, x) => sum + (x.durationMs ?? 0), 0);
    restartRows.push([key, steps.map((x) => x.step).join(','), seconds(span(steps)), seconds(health)]);
  }
  printTable(
    `HDFS rolling restart: ${seconds(usage.ms)} s in all, per batch and host`,
    ['batch and host', 'steps', 's', 'of which health gate s'],
    restartRows,
  );
} finally {
  await stack.stop();
}

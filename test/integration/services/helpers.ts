/** A whole Sophon (API, worker, real Temporal and Postgres) over a real sshd fleet, with a cluster of its hosts. */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../../../src/platform/settings.js';
import type { RunningWorker } from '../../../src/worker.js';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  temporalAddress,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../../helpers/harness.js';
import { SOPHON_ARGS } from '../../helpers/sophon-cli.js';
import { fleetBase } from '../ssh/helpers.js';

export interface Stack {
  fleet: Fleet;
  db: TestDatabase;
  config: Config;
  api: TestApi;
  /** The in-process worker, unless the stack runs worker processes. */
  worker: RunningWorker | undefined;
  workers: WorkerProcess[];
  operator: string;
  defsDir: string;
  call(method: string, path: string, body?: unknown): ReturnType<TestApi['call']>;
  /** Waits until the operation's status is one of `statuses`; returns the operation. */
  waitFor(operationId: string, statuses: string[], timeoutMs?: number): Promise<any>;
  /** The step records of an operation, as the API shows them. */
  steps(operationId: string): Promise<OperationStep[]>;
  stop(): Promise<void>;
}

export interface OperationStep {
  host: string;
  role: string;
  phase: string;
  step: string;
  status: string;
  message?: string;
  stderrTail?: string;
  startedAt: string;
  finishedAt: string;
}

/**
 * A definition for tests only: a worker role whose start command runs in the foreground for
 * a long time (so a test can cancel it mid-step), packaged with node-exporter's tarball.
 */
const SLEEPER = `name: sleeper
label: Long-running start command (tests only)
runAs: { user: sophon }
versions:
  - version: 1.5.0
    default: true
    packages:
      - { arch: x86_64, file: node-exporter-1.5.0-x86_64.tar.gz }
roles:
  - name: worker
    kind: worker
    cardinality: 1+
    start: { run: sleep 3007, timeout: 600 }
    stop: { run: 'true' }
    status: { run: 'false' }
`;

/**
 * A definition for tests only whose start takes a few seconds and leaves a line in
 * `<data>/starts.log` each time it really starts something: duplicate starts are countable.
 */
const COUNTER = `name: counter
label: Counts its starts (tests only)
runAs: { user: sophon }
versions:
  - version: 1.5.0
    default: true
    packages:
      - { arch: x86_64, file: node-exporter-1.5.0-x86_64.tar.gz }
roles:
  - name: worker
    kind: worker
    cardinality: 1+
    start:
      run: >-
        mkdir -p {{ paths.run }} {{ paths.data }} && sleep 4 && echo started >> {{ paths.data }}/starts.log &&
        { setsid nohup sleep 100007 > /dev/null 2>&1 < /dev/null & echo $! > {{ paths.run }}/counter.pid; }
      timeout: 60
    stop: { run: 'kill "$(cat {{ paths.run }}/counter.pid)"', timeout: 30 }
    status: { run: 'kill -0 "$(cat {{ paths.run }}/counter.pid)"' }
`;

/**
 * A definition for tests only that depends on ZooKeeper and never starts: its deploy holds
 * at the start step, so a test can watch a dependent service that is still deploying.
 */
const DEPENDENT = `name: dependent
label: Depends on ZooKeeper, never starts (tests only)
runAs: { user: sophon }
versions:
  - version: 1.5.0
    default: true
    packages:
      - { arch: x86_64, file: node-exporter-1.5.0-x86_64.tar.gz }
dependencies: [zookeeper]
roles:
  - name: worker
    kind: worker
    cardinality: 1+
    start: { run: 'echo refusing to start >&2; false' }
    stop: { run: 'true' }
    status: { run: 'false' }
`;

/**
 * A definition for tests only whose role is a supervised process (node_exporter in the
 * foreground) with init steps: `seed` once on the first instance, `join` on the others once the
 * first answers, `mark` on each. Every init run appends a line to `<data>/init.log`. It reads
 * Redis when the cluster has one (`redis.list`). The seeded instance leads, and a roll hands off
 * before it goes down (a line in `<data>/handoffs.log`).
 */
const SEEDED = `name: seeded
label: Supervised process with once-only init steps (tests only)
runAs: { user: sophon }
versions:
  - version: 1.5.0
    default: true
    packages:
      - { arch: x86_64, file: node-exporter-1.5.0-x86_64.tar.gz }
optionalDependencies: [redis]
roles:
  - name: node
    kind: worker
    cardinality: 1+
    ports:
      - { name: metrics, port: 19111 }
    process:
      run: exec {{ paths.install }}/bin/node_exporter --web.listen-address={{ instance.address }}:{{ instance.ports.metrics }} --collector.disable-defaults --collector.time
      stopTimeout: 10
    init:
      - name: seed
        where: first
        unless: test -f {{ paths.data }}/seeded
        run: mkdir -p {{ paths.data }} && echo seed >> {{ paths.data }}/init.log && touch {{ paths.data }}/seeded
      - name: join
        where: others
        unless: test -f {{ paths.data }}/joined
        run: >-
          bash -c 'exec 3<>/dev/tcp/{{ cluster.roles.node.hosts[0].address }}/{{ cluster.roles.node.hosts[0].ports.metrics }}' &&
          mkdir -p {{ paths.data }} && echo join >> {{ paths.data }}/init.log && touch {{ paths.data }}/joined
      - name: mark
        where: each
        unless: test -f {{ paths.data }}/marked
        run: mkdir -p {{ paths.data }} && echo mark >> {{ paths.data }}/init.log && touch {{ paths.data }}/marked
    healthChecks:
      - { type: http, port: metrics, path: /metrics, expectBody: node_time_seconds }
  - name: client
    kind: client
    cardinality: 0+
configFiles:
  - path: client.properties
    format: properties
    entries:
      nodes: "{% for h in cluster.roles.node.hosts %}{{ h.address }}:{{ h.ports.metrics }}{{ '' if loop.last else ',' }}{% endfor %}"
  - path: topology.map
    format: template
    template: topology.map.njk
  - path: redis.list
    format: template
    template: redis.list.njk
rolling:
  order: followers-first
  leader:
    role: node
    run: test -f {{ paths.data }}/seeded && echo leads
    expectOutput: leads
    handoff: { run: 'echo handoff >> {{ paths.data }}/handoffs.log' }
`;

/** Templates of the seeded definition: a rack map from the hosts' labels, and the Redis it reads when there is one. */
const SEEDED_TEMPLATES = {
  'topology.map.njk': "{% for h in cluster.roles.node.hosts %}{{ h.address }} {{ h.labels.rack or '/default-rack' }}\n{% endfor %}",
  'redis.list.njk':
    '{% if deps.redis %}{% for role, r in deps.redis.roles %}{% for h in r.hosts %}{{ role }} {{ h.address }}:{{ h.ports.redis }}\n{% endfor %}{% endfor %}{% endif %}',
};

/** A definition for tests only that needs a Java no host has. */
const FUTURE_JAVA = `name: future-java
label: Needs Java 99 (tests only)
runAs: { user: sophon }
requires: { java: 99 }
versions:
  - version: 1.5.0
    default: true
    packages:
      - { arch: x86_64, file: node-exporter-1.5.0-x86_64.tar.gz }
roles:
  - name: node
    kind: worker
    cardinality: 1+
    process: { run: 'exec sleep 1000' }
`;

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

export async function startStack(opts: {
  hosts: number;
  block: number;
  cluster: string;
  env?: Record<string, string>;
  /** Run this many `sophon worker` processes instead of a worker in the test process. */
  workerProcesses?: number;
}): Promise<Stack> {
  // Whatever has started is stopped again, also when setting up fails half-way (else the test
  // file's process would never exit).
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };
  try {
    const defsDir = await mkdtemp(path.join(tmpdir(), 'sophon-defs-'));
    stops.push(() => rm(defsDir, { recursive: true, force: true }));
    await cp(path.resolve('service-defs'), defsDir, { recursive: true });
    for (const [name, yaml] of [
      ['sleeper', SLEEPER],
      ['counter', COUNTER],
      ['dependent', DEPENDENT],
      ['seeded', SEEDED],
      ['future-java', FUTURE_JAVA],
    ] as const) {
      await mkdir(path.join(defsDir, name));
      await writeFile(path.join(defsDir, name, 'service.yaml'), yaml);
    }
    await mkdir(path.join(defsDir, 'seeded', 'templates'));
    for (const [file, text] of Object.entries(SEEDED_TEMPLATES)) await writeFile(path.join(defsDir, 'seeded', 'templates', file), text);

    const fleet = await startFleet({ hosts: opts.hosts, baseAddress: fleetBase(opts.block) });
    // Also stops the components a failed test left running, which would answer the next run's checks.
    stops.push(() => fleet.stop());
    const db = await createTestDatabase();
    stops.push(() => db.drop());
    // A stopped host refuses at once; the connect budget only has to survive a loaded machine.
    const env = { SOPHON_SSH_CONNECT_TIMEOUT_SECONDS: '10', SOPHON_SERVICE_DEFS: defsDir, ...opts.env };
    const config = testConfig(db, env);
    const workers: WorkerProcess[] = [];
    stops.push(async () => {
      for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
    });
    for (let i = 0; i < (opts.workerProcesses ?? 0); i++) {
      const child = spawn(process.execPath, [...SOPHON_ARGS, 'worker'], {
        env: {
          ...process.env,
          ...env,
          DATABASE_URL: db.url,
          TEMPORAL_ADDRESS: temporalAddress(),
          TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
          SOPHON_MASTER_KEY: config.masterKey,
          SOPHON_PACKAGE_REPO: config.packageRepo,
          SOPHON_PACKAGE_CACHE: config.packageCache,
          SOPHON_SHUTDOWN_GRACE_SECONDS: '2',
          SOPHON_LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (d) => (output += d));
      child.stderr!.on('data', (d) => (output += d));
      workers.push({ child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))), output: () => output });
    }
    const worker = opts.workerProcesses ? undefined : await startTestWorker(config, db.pool);
    if (worker) stops.push(() => worker.stop());
    const api = await startTestApi(config, db);
    stops.push(() => api.stop());
    const [admin, operator] = await Promise.all([api.token('admin'), api.token('operator')]);
    const call = (method: string, p: string, body?: unknown) => api.call(method, p, { token: operator, body });

    const waitFor = (operationId: string, statuses: string[], timeoutMs = 180_000) =>
      eventually(
        async () => {
          const op = (await call('GET', `/api/v1/operations/${operationId}`)).body.operation;
          return statuses.includes(op.status) ? op : undefined;
        },
        `operation ${operationId} to become ${statuses.join('|')}`,
        timeoutMs,
      );

    const cred = await api.call('POST', '/api/v1/credentials', {
      token: admin,
      body: { name: 'fleet', username: fleet.username, privateKey: fleet.clientKey },
    });
    assert.equal(cred.status, 201, JSON.stringify(cred.body));
    const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'HOLDING'];
    const cluster = await call('POST', '/api/v1/clusters', { name: opts.cluster });
    const created = await waitFor(cluster.body.operation.id, FINAL);
    assert.equal(created.status, 'SUCCEEDED', JSON.stringify(created));
    const added = await call('POST', `/api/v1/clusters/${opts.cluster}/hosts`, {
      hosts: fleet.hosts.map((h, i) => ({
        hostname: `n${i}`,
        address: h.address,
        port: h.port,
        credential: 'fleet',
        installRoot: h.installRoot,
      })),
    });
    assert.equal(added.status, 202, JSON.stringify(added.body));
    const bootstrapped = await waitFor(added.body.operation.id, FINAL);
    assert.equal(bootstrapped.status, 'SUCCEEDED', JSON.stringify(bootstrapped));

    return {
      fleet,
      db,
      config,
      api,
      worker,
      workers,
      operator,
      defsDir,
      call,
      waitFor,
      steps: async (operationId) => (await call('GET', `/api/v1/operations/${operationId}`)).body.operation.steps,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Whether a process with this pid exists (the fleet's hosts are this machine). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid Sophon keeps for a `process` role's instance under a host's install root. */
export function processPid(installRoot: string, service: string, role: string): number {
  return Number(readFileSync(path.join(installRoot, service, 'run', role, `${role}.pid`), 'utf8').trim());
}

/** Pids of processes whose command line matches `pattern` (the fleet's hosts are this machine). */
export function pgrep(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Takes a sample every 200 ms until stopped: what a test watches while an operation runs. */
export function sampleEvery<T extends object>(take: () => Promise<T>, everyMs = 200) {
  const samples: Array<{ at: number } & T> = [];
  let done = false;
  const running = (async () => {
    while (!done) {
      samples.push({ at: Date.now(), ...(await take()) });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    samples,
    async stop() {
      done = true;
      await running;
      return samples;
    },
  };
}

/** ZooKeeper's own four-letter `srvr` answer, or '' when the server does not answer. */
export function srvr(address: string, port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const socket = connect({ host: address, port, timeout: timeoutMs }, () => socket.write('srvr'));
    socket.on('data', (d) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('timeout', () => (socket.destroy(), resolve(out)));
    socket.on('error', () => resolve(out));
  });
}

export const modeOf = (answer: string) => /Mode: (\w+)/.exec(answer)?.[1] ?? (answer ? 'not serving' : 'down');

/** A whole Sophon (API, worker, real Temporal and Postgres) over a real sshd fleet, with a cluster of its hosts. */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
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
    // Definitions for tests only (test/fixtures/service-defs/*/service.yaml say what each is for).
    await cp(path.resolve('test/fixtures/service-defs'), defsDir, { recursive: true });

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

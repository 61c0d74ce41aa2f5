/** A whole Sophon (API, worker, real Temporal and Postgres) over a real sshd fleet, with a cluster of its hosts. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, writeFile, mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Config } from '../../../src/config.js';
import type { RunningWorker } from '../../../src/worker.js';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { createTestDatabase, eventually, startTestApi, startTestWorker, testConfig, type TestApi, type TestDatabase } from '../../helpers/harness.js';
import { fleetBase } from '../ssh/helpers.js';

export interface Stack {
  fleet: Fleet;
  db: TestDatabase;
  config: Config;
  api: TestApi;
  worker: RunningWorker;
  operator: string;
  defsDir: string;
  call(method: string, path: string, body?: unknown): ReturnType<TestApi['call']>;
  /** Waits until the operation's status is one of `statuses`; returns the operation. */
  waitFor(operationId: string, statuses: string[], timeoutMs?: number): Promise<any>;
  stop(): Promise<void>;
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

export async function startStack(opts: { hosts: number; block: number; cluster: string; env?: Record<string, string> }): Promise<Stack> {
  const defsDir = await mkdtemp(path.join(tmpdir(), 'sophon-defs-'));
  await cp(path.resolve('service-defs'), defsDir, { recursive: true });
  await mkdir(path.join(defsDir, 'sleeper'));
  await writeFile(path.join(defsDir, 'sleeper', 'service.yaml'), SLEEPER);

  const fleet = await startFleet({ hosts: opts.hosts, baseAddress: fleetBase(opts.block) });
  const db = await createTestDatabase();
  const config = testConfig(db, { SOPHON_SSH_CONNECT_TIMEOUT_SECONDS: '3', SOPHON_SERVICE_DEFS: defsDir, ...opts.env });
  const worker = await startTestWorker(config, db.pool);
  const api = await startTestApi(config, db);
  const [admin, operator] = await Promise.all([api.token('admin'), api.token('operator')]);
  const call = (method: string, p: string, body?: unknown) => api.call(method, p, { token: operator, ...(body === undefined ? {} : { body }) });

  const waitFor = (operationId: string, statuses: string[], timeoutMs = 180_000) =>
    eventually(async () => {
      const op = (await call('GET', `/api/v1/operations/${operationId}`)).body.operation;
      return statuses.includes(op.status) ? op : undefined;
    }, `operation ${operationId} to become ${statuses.join('|')}`, timeoutMs);

  const cred = await api.call('POST', '/api/v1/credentials', { token: admin, body: { name: 'fleet', username: fleet.username, privateKey: fleet.clientKey } });
  assert.equal(cred.status, 201, JSON.stringify(cred.body));
  const cluster = await call('POST', '/api/v1/clusters', { name: opts.cluster });
  await waitFor(cluster.body.operation.id, ['SUCCEEDED']);
  const added = await call('POST', `/api/v1/clusters/${opts.cluster}/hosts`, {
    hosts: fleet.hosts.map((h, i) => ({ hostname: `n${i}`, address: h.address, port: h.port, credential: 'fleet', installRoot: h.installRoot })),
  });
  assert.equal(added.status, 202, JSON.stringify(added.body));
  await waitFor(added.body.operation.id, ['SUCCEEDED']);

  return {
    fleet,
    db,
    config,
    api,
    worker,
    operator,
    defsDir,
    call,
    waitFor,
    async stop() {
      await api.stop();
      await worker.stop();
      await db.drop();
      await fleet.stop();
      await rm(defsDir, { recursive: true, force: true });
    },
  };
}

/** Pids of processes whose command line matches `pattern` (the fleet's hosts are this machine). */
export function pgrep(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
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

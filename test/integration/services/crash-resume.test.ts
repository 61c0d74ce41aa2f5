/**
 * The whole of Sophon (`sophon start`: API, worker, Temporal dev server, Postgres) killed with
 * SIGKILL in the middle of a ZooKeeper deploy on a real fleet, then started again: the same
 * operation carries on and completes, and each host runs exactly one ZooKeeper.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { eventually } from '../../helpers/harness.js';
import { callSophon, embeddedSophonEnv, killAll, sophonProcess } from '../../helpers/sophon-process.js';
import { fleetBase } from '../ssh/helpers.js';
import { modeOf, pgrep, srvr } from './helpers.js';

const CLIENT_PORT = 12181;
let home: string;
let env: NodeJS.ProcessEnv;
let fleet: Fleet;
const started: ChildProcess[] = [];

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'sophon-crash-'));
  await chmod(home, 0o755);
  fleet = await startFleet({ hosts: 3, baseAddress: fleetBase(47) });
  env = await embeddedSophonEnv(home);
});

after(async () => {
  killAll(started);
  await fleet?.stop();
  await rm(home, { recursive: true, force: true });
});

const sophonStart = () => sophonProcess(['start'], env, started);

const call = (method: string, route: string, token: string, body?: unknown) => callSophon(env, method, route, token, body);

const operation = async (token: string, id: string) => (await call('GET', `/api/v1/operations/${id}`, token)).body.operation;
const finished = (token: string, id: string, timeoutMs = 180_000) =>
  eventually(
    async () => {
      const op = await operation(token, id);
      return op.finishedAt ? op : undefined;
    },
    `operation ${id} to finish`,
    timeoutMs,
  );

test(
  'SIGKILL of the whole of Sophon mid-deploy: the next start completes the same operation, one ZooKeeper per host',
  { timeout: 600_000 },
  async (t) => {
    const first = sophonStart();
    await first.ready;
    const token = (await readFile(path.join(home, 'admin-token'), 'utf8')).trim();
    assert.equal(
      (await call('POST', '/api/v1/credentials', token, { name: 'fleet', username: fleet.username, privateKey: fleet.clientKey })).status,
      201,
    );
    assert.equal(
      (await finished(token, (await call('POST', '/api/v1/clusters', token, { name: 'crash' })).body.operation.id)).status,
      'SUCCEEDED',
    );
    const hosts = fleet.hosts.map((h, i) => ({
      hostname: `z${i}`,
      address: h.address,
      port: h.port,
      credential: 'fleet',
      installRoot: h.installRoot,
    }));
    assert.equal(
      (await finished(token, (await call('POST', '/api/v1/clusters/crash/hosts', token, { hosts })).body.operation.id)).status,
      'SUCCEEDED',
    );

    const deploy = await call('POST', '/api/v1/clusters/crash/services', token, {
      service: 'zookeeper',
      placement: { server: ['z0', 'z1', 'z2'] },
      config: { clientPort: CLIENT_PORT, adminPort: 18080, heapMb: 128 },
    });
    assert.equal(deploy.status, 202, JSON.stringify(deploy.body));
    const id = deploy.body.operation.id;
    // Mid-deploy: packages are on some hosts, nothing is healthy yet.
    const progress = await eventually(
      async () => {
        const op = await operation(token, id);
        const done = op.steps.filter((s: { status: string }) => s.status === 'SUCCEEDED').length;
        return done >= 1 && !op.finishedAt ? op : undefined;
      },
      'the deploy to be under way',
      120_000,
    );
    t.diagnostic(
      `killed with steps: ${progress.steps.map((s: { host: string; step: string; status: string }) => `${s.host}/${s.step}=${s.status}`).join(' ')}`,
    );
    process.kill(-first.child.pid!, 'SIGKILL');
    await first.exited;

    const second = sophonStart();
    await second.ready;
    const restartedAt = Date.now();
    const op = await finished(token, id);
    t.diagnostic(`the operation completed ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the restart`);
    assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
    assert.equal(op.id, id);

    for (const h of fleet.hosts) {
      assert.equal(pgrep(`${h.installRoot}/zookeeper/conf/server`).length, 1, `exactly one ZooKeeper on ${h.address}`);
    }
    const modes = await Promise.all(fleet.hosts.map(async (h) => modeOf(await srvr(h.address, CLIENT_PORT))));
    assert.deepEqual([...modes].sort(), ['follower', 'follower', 'leader']);

    // Clean up through Sophon itself, then stop it.
    const removal = await call('DELETE', '/api/v1/clusters/crash/services/zookeeper', token);
    assert.equal((await finished(token, removal.body.operation.id)).status, 'SUCCEEDED');
    for (const h of fleet.hosts) assert.equal(pgrep(`${h.installRoot}/zookeeper/conf/server`).length, 0);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  },
);

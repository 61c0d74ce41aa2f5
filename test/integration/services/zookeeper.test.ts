/**
 * A real 3-server ZooKeeper ensemble through the API on a real sshd fleet: deploy, discovery,
 * a rolling restart that keeps quorum with the leader last, the one-operation-per-service
 * lock, bad input refused before anything is recorded, and removal.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { modeOf, pgrep, sampleEvery, srvr, startStack, type Stack } from './helpers.js';

let s: Stack;
const CLIENT_PORT = 12181;
const SERVERS = ['n0', 'n1', 'n2'];

before(async () => {
  s = await startStack({ hosts: 4, block: 41, cluster: 'zk' });
});
after(async () => {
  await s?.stop();
});

const address = (hostname: string) => s.fleet.hosts[Number(hostname.slice(1))]!.address;
const installRoot = (hostname: string) => s.fleet.hosts[Number(hostname.slice(1))]!.installRoot;
const modes = async () => Promise.all(SERVERS.map(async (h) => modeOf(await srvr(address(h), CLIENT_PORT))));
const pidOf = (h: string) => readFileSync(path.join(installRoot(h), 'zookeeper/run/server/zookeeper.pid'), 'utf8').trim();
const operationCount = async () => (await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length;

test('bad deploy requests are refused with the field path, and nothing is recorded', async () => {
  const before = await operationCount();
  const cases: Array<[unknown, number, string]> = [
    [{ service: 'nosuch', placement: {} }, 400, 'service'],
    [{ service: 'zookeeper', placement: { server: ['n0', 'ghost', 'n2'] } }, 422, 'placement.server.1'],
    [{ service: 'zookeeper', placement: { server: ['n0', 'n1'] } }, 422, 'placement.server'],
    [{ service: 'dependent', placement: { worker: ['n3'] } }, 422, 'service'],
    [{ service: 'zookeeper', placement: { server: ['n0'] }, config: { tickTime: 5 } }, 400, 'config.tickTime'],
    [{ service: 'zookeeper', placement: { server: ['n0'] }, config: { tickTime: 'fast' } }, 400, 'config.tickTime'],
    [{ service: 'zookeeper', placement: { server: ['n0'] }, config: { nosuch: 1 } }, 400, 'config.nosuch'],
    [{ service: 'zookeeper', version: '9.9', placement: { server: ['n0'] } }, 400, 'version'],
    [{ service: 'zookeeper', placement: { server: 'n0' } }, 400, 'placement.server'],
  ];
  for (const [body, status, field] of cases) {
    const res = await s.call('POST', '/api/v1/clusters/zk/services', body);
    assert.equal(res.status, status, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
    assert.match(res.type, /problem\+json/);
    assert.ok(
      res.body.errors.some((e: { path: string }) => e.path === field),
      `${field} named in ${JSON.stringify(res.body.errors)}`,
    );
  }
  assert.equal((await s.call('GET', '/api/v1/clusters/nosuch/services')).status, 404);
  assert.equal(await operationCount(), before, 'no operation was created');
  assert.deepEqual((await s.call('GET', '/api/v1/clusters/zk/services')).body.services, []);
});

test('a 3-server ensemble deploys: one leader, two followers, discovery lists the three', async () => {
  const res = await s.call('POST', '/api/v1/clusters/zk/services', {
    service: 'zookeeper',
    placement: { server: SERVERS },
    config: { clientPort: CLIENT_PORT, adminPort: 18080, heapMb: 128 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.match(res.body.operation.workflowId, /^deploy\/zk\/zookeeper\//);
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.percent, 100);

  const m = await modes();
  assert.deepEqual([...m].sort(), ['follower', 'follower', 'leader'], `srvr modes: ${m}`);

  const svc = (await s.call('GET', '/api/v1/clusters/zk/services/zookeeper')).body.service;
  assert.equal(svc.status, 'ACTIVE');
  assert.equal(svc.version, '3.8.0-deb12u2');
  assert.equal(svc.configVersion, 1);
  assert.equal(svc.instances.length, 3);
  for (const i of svc.instances) {
    assert.deepEqual([i.version, i.desiredState, i.observedState, i.configVersion], ['3.8.0-deb12u2', 'RUNNING', 'RUNNING', 1]);
    assert.equal(i.ports.client, CLIENT_PORT);
  }
  const discovery = (await s.call('GET', '/api/v1/clusters/zk/discovery/zookeeper')).body;
  assert.equal(discovery.service, 'zookeeper');
  assert.deepEqual(
    discovery.roles.server.map(
      (e: { host: string; address: string; ports: { client: number } }) => `${e.host}@${e.address}:${e.ports.client}`,
    ),
    SERVERS.map((h) => `${h}@${address(h)}:${CLIENT_PORT}`),
  );
  // Each server runs once: one java process per data directory.
  for (const h of SERVERS) assert.equal(pgrep(`${installRoot(h)}/zookeeper/conf/server`).length, 1, `one ZooKeeper on ${h}`);
});

test('a rolling restart keeps quorum, restarts every server and the leader last; a second operation meanwhile is a 409', async () => {
  const leader = SERVERS[(await modes()).indexOf('leader')]!;
  const pidsBefore = Object.fromEntries(SERVERS.map((h) => [h, pidOf(h)]));
  const res = await s.call('POST', '/api/v1/clusters/zk/services/zookeeper/actions', { action: 'restart', rolling: { batchSize: 1 } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const opId = res.body.operation.id;

  const second = await s.call('POST', '/api/v1/clusters/zk/services/zookeeper/actions', { action: 'stop' });
  assert.equal(second.status, 409);
  assert.match(second.body.detail, new RegExp(opId));
  const removal = await s.call('DELETE', '/api/v1/clusters/zk/services/zookeeper');
  assert.equal(removal.status, 409);

  const watch = sampleEvery(async () => ({ modes: await modes() }));
  const op = await s.waitFor(opId, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  const samples = await watch.stop();
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.result.batches, 3);

  const steps = (await s.call('GET', `/api/v1/operations/${opId}`)).body.operation.steps as Array<{
    host: string;
    phase: string;
    step: string;
    status: string;
    startedAt: string;
  }>;
  const lastBatch = steps.filter((x) => x.phase === 'restart batch 3');
  assert.ok(
    lastBatch.length > 0 && lastBatch.every((x) => x.host === leader),
    `the leader ${leader} is restarted last: ${JSON.stringify(lastBatch)}`,
  );
  for (const h of SERVERS) {
    assert.deepEqual(
      steps.filter((x) => x.host === h).map((x) => `${x.step}:${x.status}`),
      ['stop:SUCCEEDED', 'start:SUCCEEDED', 'health:SUCCEEDED'],
      `${h} was restarted`,
    );
    assert.notEqual(pidOf(h), pidsBefore[h], `${h} runs a new process`);
  }

  // Quorum: a majority of servers is up at every sample; until the leader itself stops, a majority serves.
  const leaderStop = Date.parse(lastBatch.find((x) => x.step === 'stop')!.startedAt);
  assert.ok(samples.length > 10, `sampled ${samples.length} times`);
  for (const sample of samples) {
    const up = sample.modes.filter((m) => m !== 'down').length;
    assert.ok(up >= 2, `a majority is up at ${new Date(sample.at).toISOString()}: ${sample.modes}`);
    if (sample.at < leaderStop - 500) {
      const serving = sample.modes.filter((m) => m === 'leader' || m === 'follower').length;
      assert.ok(serving >= 2, `a majority serves at ${new Date(sample.at).toISOString()}: ${sample.modes}`);
    }
  }
  const final = await modes();
  assert.deepEqual([...final].sort(), ['follower', 'follower', 'leader'], `after the roll: ${final}`);
});

test('removal is refused while a dependent service exists; abort ends the dependent deploy FAILED', async () => {
  // A test definition depending on ZooKeeper whose start always fails: its deploy holds.
  const dependent = await s.call('POST', '/api/v1/clusters/zk/services', { service: 'dependent', placement: { worker: ['n3'] } });
  assert.equal(dependent.status, 202, JSON.stringify(dependent.body));
  const held = await s.waitFor(dependent.body.operation.id, ['HOLDING', 'FAILED', 'SUCCEEDED']);
  assert.equal(held.status, 'HOLDING');
  assert.equal(held.holding[0].host, 'n3');
  assert.equal(held.holding[0].step, 'start');
  assert.match(held.holding[0].reason, /refusing to start/);

  const refused = await s.call('DELETE', '/api/v1/clusters/zk/services/zookeeper');
  assert.equal(refused.status, 409);
  assert.match(refused.body.detail, /dependent depends on zookeeper/);

  const aborted = await s.call('POST', `/api/v1/operations/${dependent.body.operation.id}/decision`, { action: 'abort' });
  assert.equal(aborted.status, 202, JSON.stringify(aborted.body));
  const failed = await s.waitFor(dependent.body.operation.id, ['FAILED', 'SUCCEEDED', 'CANCELLED']);
  assert.equal(failed.status, 'FAILED');
  assert.equal(failed.error.code, 'ABORTED');
  const decided = await s.call('POST', `/api/v1/operations/${dependent.body.operation.id}/decision`, { action: 'retry' });
  assert.equal(decided.status, 409, 'no decision once it ended');

  const removeDependent = await s.call('DELETE', '/api/v1/clusters/zk/services/dependent');
  assert.equal(removeDependent.status, 202, JSON.stringify(removeDependent.body));
  assert.equal((await s.waitFor(removeDependent.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
});

test('remove stops every server, deletes its files under the install roots and its inventory', async () => {
  const res = await s.call('DELETE', '/api/v1/clusters/zk/services/zookeeper');
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  for (const h of SERVERS) {
    assert.equal(pgrep(`${installRoot(h)}/zookeeper/conf/server`).length, 0, `no ZooKeeper left on ${h}`);
    assert.equal(existsSync(path.join(installRoot(h), 'zookeeper')), false, `files gone on ${h}`);
    assert.equal(existsSync(installRoot(h)), true, `the install root itself stays on ${h}`);
  }
  assert.equal((await s.call('GET', '/api/v1/clusters/zk/services/zookeeper')).status, 404);
  const rows = await s.db.pool.query(`SELECT count(*)::int AS n FROM role_instances`);
  assert.equal(rows.rows[0].n, 0);
});

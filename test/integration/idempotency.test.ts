import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../helpers/harness.js';
import type { RunningWorker } from '../../src/worker.js';
import { fleetBase } from './ssh/helpers.js';

let db: TestDatabase;
let api: TestApi;
let worker: RunningWorker;
let fleet: Fleet;
let operator: string;
let admin: string;

before(async () => {
  fleet = await startFleet({ hosts: 1, baseAddress: fleetBase(81) });
  db = await createTestDatabase();
  const config = testConfig(db);
  worker = await startTestWorker(config, db.pool);
  api = await startTestApi(config, db);
  [operator, admin] = await Promise.all([api.token('operator'), api.token('admin')]);
});

after(async () => {
  await api?.stop();
  await worker?.stop();
  await db?.drop();
  await fleet?.stop();
});

/** POST with an Idempotency-Key; `raw` sends the body text as is. */
async function post(path: string, key: string | undefined, body: unknown, opts: { raw?: boolean; token?: string } = {}) {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? operator}`, 'content-type': 'application/json' };
  if (key !== undefined) headers['idempotency-key'] = key;
  const res = await fetch(`${api.url}${path}`, { method: 'POST', headers, body: opts.raw ? (body as string) : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

const count = async (sql: string, args: unknown[] = []) => (await db.pool.query(sql, args)).rows[0].n as number;
const opsOfCluster = (name: string) =>
  count(`SELECT count(*)::int AS n FROM operations WHERE type = 'cluster.create' AND cluster_name = $1`, [name]);

async function finished(operationId: string) {
  return eventually(
    async () => {
      const res = await api.call('GET', `/api/v1/operations/${operationId}`, { token: operator });
      return res.body.operation.finishedAt ? res.body.operation : undefined;
    },
    `operation ${operationId} to finish`,
    90_000,
  );
}

test('the same key and body answer the first operation again; field order and spacing do not matter', async () => {
  const first = await post('/api/v1/clusters', 'create-alpha', { name: 'alpha', description: 'first' });
  assert.equal(first.status, 202, JSON.stringify(first.body));
  await finished(first.body.operation.id);

  const again = await post('/api/v1/clusters', 'create-alpha', '{ "description": "first",\n  "name": "alpha" }', { raw: true });
  assert.equal(again.status, 202, JSON.stringify(again.body));
  assert.equal(again.body.operation.id, first.body.operation.id);
  assert.equal(again.body.operation.status, 'SUCCEEDED');
  // The rest of the answer is the first one: the same cluster id, not a fresh one.
  assert.deepEqual(again.body.cluster, first.body.cluster);
  assert.deepEqual(Object.keys(again.body).sort(), Object.keys(first.body).sort());
  assert.equal(await opsOfCluster('alpha'), 1);
  assert.equal(await count(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'cluster.create.requested' AND target = 'alpha'`), 1);

  // Without the key the same body is a new request: the name is taken.
  const unkeyed = await post('/api/v1/clusters', undefined, { name: 'alpha', description: 'first' });
  assert.equal(unkeyed.status, 409);
});

test('the same key with a different body is refused with 422 saying what differs', async () => {
  const first = await post('/api/v1/clusters', 'create-beta', { name: 'beta', description: 'one' });
  assert.equal(first.status, 202);

  const otherBody = await post('/api/v1/clusters', 'create-beta', { name: 'beta', description: 'two' });
  assert.equal(otherBody.status, 422);
  assert.equal(otherBody.body.code, 'IDEMPOTENCY_KEY_REUSED');
  assert.match(otherBody.body.detail, /differs in description/);
  assert.match(otherBody.body.detail, new RegExp(first.body.operation.id));

  assert.equal(await opsOfCluster('beta'), 1);

  // Keys belong to the token that sent them: another token's identical key is its own.
  const otherToken = await post('/api/v1/clusters', 'create-beta', { name: 'beta-2' }, { token: admin });
  assert.equal(otherToken.status, 202);
  assert.notEqual(otherToken.body.operation.id, first.body.operation.id);
});

test('a bad Idempotency-Key is a 400 naming the header, and nothing is started', async () => {
  for (const key of ['k'.repeat(256), 'tab\there', '']) {
    const res = await post('/api/v1/clusters', key, { name: 'gamma' });
    assert.equal(res.status, 400, `key ${JSON.stringify(key)}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, 'VALIDATION_FAILED');
    assert.match(res.body.detail, /Idempotency-Key header/);
    assert.equal(res.body.errors[0].path, 'headers.Idempotency-Key');
  }
  assert.equal(await opsOfCluster('gamma'), 0);
  assert.equal((await post('/api/v1/clusters', 'k'.repeat(255), { name: 'gamma' })).status, 202);
});

test('ten concurrent requests with one key make one operation', async () => {
  const answers = await Promise.all(Array.from({ length: 10 }, () => post('/api/v1/clusters', 'create-delta', { name: 'delta' })));
  assert.deepEqual(
    answers.map((a) => a.status),
    Array(10).fill(202),
    JSON.stringify(answers.map((a) => a.body)),
  );
  assert.equal(new Set(answers.map((a) => a.body.operation.id)).size, 1);
  assert.equal(new Set(answers.map((a) => a.body.cluster.id)).size, 1);
  assert.equal(await opsOfCluster('delta'), 1);
  assert.equal(await count(`SELECT count(*)::int AS n FROM clusters WHERE name = 'delta'`), 1);
});

test('adding hosts again with the key answers the first hosts, whose bootstrap ran once', async () => {
  const cred = await api.call('POST', '/api/v1/credentials', {
    token: admin,
    body: { name: 'fleet', username: fleet.username, privateKey: fleet.clientKey },
  });
  assert.equal(cred.status, 201, JSON.stringify(cred.body));
  const cluster = await post('/api/v1/clusters', undefined, { name: 'hosted' });
  await finished(cluster.body.operation.id);

  const h = fleet.hosts[0]!;
  const body = { hosts: [{ hostname: 'node1', address: h.address, port: h.port, credential: 'fleet', installRoot: h.installRoot }] };
  // An admin adds the host, so the same token can try the key on repin-host-key (admin only).
  const first = await post('/api/v1/clusters/hosted/hosts', 'add-node1', body, { token: admin });
  assert.equal(first.status, 202, JSON.stringify(first.body));
  const op = await finished(first.body.operation.id);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));

  const again = await post('/api/v1/clusters/hosted/hosts', 'add-node1', body, { token: admin });
  assert.equal(again.status, 202, JSON.stringify(again.body));
  assert.equal(again.body.operation.id, first.body.operation.id);
  assert.deepEqual(again.body.hosts, first.body.hosts);
  assert.equal(await count(`SELECT count(*)::int AS n FROM operations WHERE type = 'hosts.bootstrap'`), 1);
  assert.equal(await count(`SELECT count(*)::int AS n FROM hosts WHERE hostname = 'node1'`), 1);

  // The key of that request, on another route: refused, naming both.
  const otherPath = await post('/api/v1/clusters/hosted/hosts/node1/repin-host-key', 'add-node1', {}, { token: admin });
  assert.equal(otherPath.status, 422, JSON.stringify(otherPath.body));
  assert.equal(otherPath.body.code, 'IDEMPOTENCY_KEY_REUSED');
  assert.match(
    otherPath.body.detail,
    /for POST \/api\/v1\/clusters\/hosted\/hosts, not POST \/api\/v1\/clusters\/hosted\/hosts\/node1\/repin-host-key/,
  );

  // Repinning repeated while its bootstrap runs answers that bootstrap, not a 409.
  const repin = await Promise.all(
    [0, 1].map(() => post('/api/v1/clusters/hosted/hosts/node1/repin-host-key', 'repin-node1', {}, { token: admin })),
  );
  assert.deepEqual(
    repin.map((r) => r.status),
    [202, 202],
    JSON.stringify(repin.map((r) => r.body)),
  );
  assert.equal(repin[0]!.body.operation.id, repin[1]!.body.operation.id);
  assert.equal((await finished(repin[0]!.body.operation.id)).status, 'SUCCEEDED');
});

test('a key older than 24 hours is free again', async () => {
  const first = await post('/api/v1/clusters', 'create-epsilon', { name: 'epsilon' });
  assert.equal(first.status, 202);
  await db.pool.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'create-epsilon'`);
  const later = await post('/api/v1/clusters', 'create-epsilon', { name: 'epsilon-2' });
  assert.equal(later.status, 202, JSON.stringify(later.body));
  assert.notEqual(later.body.operation.id, first.body.operation.id);
  const row = await db.pool.query(`SELECT operation_id FROM idempotency_keys WHERE key = 'create-epsilon'`);
  assert.equal(row.rows[0].operation_id, later.body.operation.id);
});

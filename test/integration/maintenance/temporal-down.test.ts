/**
 * Maintenance schedules with Temporal not answering (a Temporal dev server of this file's own,
 * frozen with SIGSTOP): they are still listed from Postgres, without next run times; every
 * change answers 503 naming Temporal and changes nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { Config } from '../../../src/platform/settings.js';
import type { RunningTemporal } from '../../../src/dev/embedded-temporal.js';
import { createTestDatabase, startTestApi, testConfig, type TestApi, type TestDatabase } from '../../helpers/harness.js';
import { startOwnTemporal } from '../../helpers/own-temporal.js';
import { assertProblem } from '../../helpers/problems.js';

let db: TestDatabase;
let config: Config;
let api: TestApi;
let temporal: RunningTemporal;
let temporalPid: number;
let operator: string;

before(async () => {
  ({ temporal, pid: temporalPid } = await startOwnTemporal());
  db = await createTestDatabase();
  config = testConfig(db, { TEMPORAL_ADDRESS: temporal.address, SOPHON_DEPENDENCY_TIMEOUT_SECONDS: '2' });
  api = await startTestApi(config, db, { temporalAddress: temporal.address });
  operator = await api.token('operator');
  // A cluster with a deployed ZooKeeper, as its deploy leaves them (no hosts are touched here).
  const cluster = randomUUID();
  await db.pool.query(`INSERT INTO clusters (id, name, status) VALUES ($1, 'down', 'ACTIVE')`, [cluster]);
  await db.pool.query(
    `INSERT INTO services (id, cluster_id, name, version, target_version, status) VALUES ($1, $2, 'zookeeper', '3.8.0-deb12u2', '3.8.0-deb12u2', 'ACTIVE')`,
    [randomUUID(), cluster],
  );
});

after(async () => {
  if (temporalPid) process.kill(temporalPid, 'SIGCONT');
  await api?.stop();
  await db?.drop();
  await temporal?.stop();
});

const call = (method: string, path: string, body?: unknown) => api.call(method, path, { token: operator, body });
const answered = <T>(p: Promise<T>) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 30 s')), 30_000).unref())]);

test('with Temporal frozen, schedules are listed from Postgres and every change is a 503 naming Temporal', async () => {
  const action = { kind: 'task', service: 'zookeeper', task: 'purge-snapshots' };
  const created = await call('POST', '/api/v1/maintenance-schedules', {
    name: 'nightly',
    cluster: 'down',
    spec: { cron: '0 2 * * *', timezone: 'Asia/Shanghai' },
    action,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.schedule.id;
  assert.ok(created.body.schedule.nextRunAt);

  process.kill(temporalPid, 'SIGSTOP');
  try {
    const list = await answered(call('GET', '/api/v1/maintenance-schedules'));
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(
      list.body.schedules.map((s: { name: string; nextRunAt: unknown }) => [s.name, s.nextRunAt]),
      [['nightly', null]],
    );
    assert.equal((await answered(call('GET', `/api/v1/maintenance-schedules/nightly`))).body.schedule.id, id);

    const changes: Array<[string, string, unknown]> = [
      ['POST', '/api/v1/maintenance-schedules', { name: 'another', cluster: 'down', spec: { everySeconds: 60 }, action }],
      ['PATCH', `/api/v1/maintenance-schedules/${id}`, { paused: true }],
      ['POST', `/api/v1/maintenance-schedules/${id}/trigger`, undefined],
      ['DELETE', `/api/v1/maintenance-schedules/${id}`, undefined],
    ];
    for (const [method, path, body] of changes) {
      const res = await answered(call(method, path, body));
      assertProblem(res, 503, 'DEPENDENCY_UNAVAILABLE');
      assert.match(res.body.detail, /Temporal is unavailable/, `${method} ${path}: ${res.body.detail}`);
    }
    const after = (await answered(call('GET', '/api/v1/maintenance-schedules'))).body.schedules;
    assert.deepEqual(
      after.map((s: { name: string; paused: boolean }) => [s.name, s.paused]),
      [['nightly', false]],
      'nothing changed',
    );
  } finally {
    process.kill(temporalPid, 'SIGCONT');
  }
  const paused = await call('PATCH', `/api/v1/maintenance-schedules/${id}`, { paused: true });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  assert.equal((await call('DELETE', `/api/v1/maintenance-schedules/${id}`)).status, 204);
});

/**
 * Issue 7, defect 7: every Postgres and Temporal call made while answering a request has a
 * deadline. Temporal is frozen with SIGSTOP: this file starts a Temporal dev server of its own,
 * since the run's server is shared by every test file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Config } from '../../src/platform/settings.js';
import type { RunningTemporal } from '../../src/dev/embedded-temporal.js';
import { operationsRepo } from '../../src/features/operations/repo.js';
import { createTestDatabase, eventually, startTestApi, testConfig, type TestApi, type TestDatabase } from '../helpers/harness.js';
import { startOwnTemporal } from '../helpers/own-temporal.js';
import { assertProblem, watchHealth } from '../helpers/problems.js';

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
});

after(async () => {
  if (temporalPid) process.kill(temporalPid, 'SIGCONT');
  await api?.stop();
  await db?.drop();
  await temporal?.stop();
});

/** A request that must be answered: a hang fails the test instead of stalling it. */
const answered = <T>(p: Promise<T>) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer within 30 s')), 30_000).unref())]);

describe('defect 7: deadlines on dependencies', () => {
  test('with Temporal frozen, POST /clusters answers 503 naming Temporal; the operation starts once it is back', async () => {
    const health = watchHealth(api.url);
    let res;
    process.kill(temporalPid, 'SIGSTOP');
    try {
      res = await answered(api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'frozen' } }));
      assert.equal((await answered(api.call('GET', '/readyz'))).status, 503);
    } finally {
      process.kill(temporalPid, 'SIGCONT');
    }
    assertProblem(res, 503, 'DEPENDENCY_UNAVAILABLE');
    assert.match(res.body.detail, /Temporal is unavailable \(no answer within 2 s\)/);
    const statuses = await health.stop();
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 200), `healthz answered ${statuses.join(',')}`);

    await eventually(async () => ((await api.call('GET', '/readyz')).status === 200 ? true : undefined), '/readyz to be 200 again');
    const [op] = (await db.pool.query(`SELECT id FROM operations WHERE cluster_name = 'frozen'`)).rows;
    assert.ok(op, 'the operation stayed recorded');
    assert.equal(await api.core.operations.resumeUnstarted(0), 1);
    assert.ok((await operationsRepo(db.pool).get(op.id))!.runId, 'it started once Temporal answered');
  });

  test('with a table locked in Postgres, a read answers 503 naming Postgres', async () => {
    const locker = await db.pool.connect();
    let res;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE clusters IN ACCESS EXCLUSIVE MODE');
      res = await answered(api.call('GET', '/api/v1/clusters', { token: operator }));
      assert.equal((await api.call('GET', '/healthz')).status, 200);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    assertProblem(res, 503, 'DEPENDENCY_UNAVAILABLE');
    assert.match(res.body.detail, /^Postgres/);
    assert.equal((await api.call('GET', '/api/v1/clusters', { token: operator })).status, 200);
    assert.equal((await api.call('GET', '/readyz')).status, 200);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, test } from 'node:test';
import { Context } from '@temporalio/activity';
import { clustersRepo } from '../../src/features/clusters/repo.js';
import { operationsRepo } from '../../src/features/operations/repo.js';
import { clusterWorkflowIds, type CreateClusterInput } from '../../src/features/clusters/types.js';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../helpers/harness.js';

let db: TestDatabase | undefined;
let api: TestApi | undefined;
after(async () => {
  await api?.stop();
  await db?.drop();
});

test('a workflow survives a worker stopped mid-activity; the side effect happens once', async () => {
  db = await createTestDatabase();
  const config = testConfig(db);
  api = await startTestApi(config, db);

  // The first worker's activity does its work, then hangs as if the process died before
  // reporting completion.
  let reached!: () => void;
  const sideEffectDone = new Promise<void>((resolve) => (reached = resolve));
  const firstWorker = await startTestWorker(config, db.pool, (real) => ({
    ...real,
    async createCluster(input: CreateClusterInput) {
      await real.createCluster(input);
      reached();
      await Context.current().cancelled;
    },
  }));

  const token = await api.token('operator');
  const res = await api.call('POST', '/api/v1/clusters', { token, body: { name: 'survivor' } });
  assert.equal(res.status, 202);
  const op = res.body.operation;

  await sideEffectDone;
  const afterFirst = await db.pool.query(`SELECT status, updated_at FROM clusters WHERE name = 'survivor'`);
  assert.equal(afterFirst.rows[0].status, 'ACTIVE');
  await firstWorker.stop();
  const stuck = await api.call('GET', `/api/v1/operations/${op.id}`, { token });
  assert.equal(stuck.body.operation.status, 'RUNNING');

  const secondWorker = await startTestWorker(config, db.pool);
  try {
    const finished = await eventually(
      async () => {
        const r = await api!.call('GET', `/api/v1/operations/${op.id}`, { token });
        return r.body.operation.finishedAt ? r.body.operation : undefined;
      },
      'the operation to finish on the second worker',
      60_000,
    );
    assert.equal(finished.status, 'SUCCEEDED');
  } finally {
    await secondWorker.stop();
  }

  // The activity ran again on the second worker...
  const history = await api.core.temporal.workflow.getHandle(op.workflowId).fetchHistory();
  const attempts = (history.events ?? [])
    .map((e) => e.activityTaskStartedEventAttributes?.attempt)
    .filter((a): a is number => typeof a === 'number');
  assert.ok(Math.max(...attempts) >= 2, `expected a retried activity, saw attempts ${attempts.join(',')}`);
  // ...and found its work done: one audit entry, the cluster row untouched since.
  const audit = await db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'cluster.created' AND operation_id = $1`, [
    op.id,
  ]);
  assert.equal(audit.rows[0].n, 1);
  const final = await db.pool.query(`SELECT status, updated_at FROM clusters WHERE name = 'survivor'`);
  assert.equal(final.rows[0].status, 'ACTIVE');
  assert.deepEqual(final.rows[0].updated_at, afterFirst.rows[0].updated_at);
});

test('an operation recorded before a crash, whose workflow never started, is started once later', async () => {
  const db2 = await createTestDatabase();
  const config = testConfig(db2);
  const api2 = await startTestApi(config, db2);
  const worker = await startTestWorker(config, db2.pool);
  try {
    // What the API had committed when it died: the reserved cluster and the PENDING operation.
    const opId = randomUUID();
    const clusterId = randomUUID();
    await clustersRepo(db2.pool).insertIntent({ id: clusterId, name: 'orphan', description: '', operationId: opId });
    await operationsRepo(db2.pool).insert({
      id: opId,
      type: 'cluster.create',
      clusterId: null,
      clusterName: 'orphan',
      service: null,
      workflowId: clusterWorkflowIds.createCluster('orphan', opId),
      workflowType: 'createClusterWorkflow',
      requestedBy: 'test',
      input: { operationId: opId, clusterId, name: 'orphan' },
    });
    await db2.pool.query(`UPDATE operations SET created_at = now() - interval '1 minute' WHERE id = $1`, [opId]);

    assert.equal(await api2.core.operations.resumeUnstarted(), 1);
    assert.equal(await api2.core.operations.resumeUnstarted(), 0, 'a started operation is not started again');
    const token = await api2.token('viewer');
    const op = await eventually(async () => {
      const r = await api2.call('GET', `/api/v1/operations/${opId}`, { token });
      return r.body.operation.finishedAt ? r.body.operation : undefined;
    }, 'the resumed operation to finish');
    assert.equal(op.status, 'SUCCEEDED');
    assert.equal((await api2.call('GET', '/api/v1/clusters/orphan', { token })).body.status, 'ACTIVE');
  } finally {
    await worker.stop();
    await api2.stop();
    await db2.drop();
  }
});

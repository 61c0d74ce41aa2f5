import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Context } from '@temporalio/activity';
import proto from '@temporalio/proto';
import type { Config } from '../../src/platform/settings.js';
import type { RunningWorker } from '../../src/worker.js';
import { operationWorkflowIds } from '../../src/features/operations/types.js';
import type { CreateClusterInput } from '../../src/features/clusters/types.js';
import type { ReconcileResult } from '../../src/features/operations/activities/reconcile.js';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../helpers/harness.js';

let db: TestDatabase;
let config: Config;
let api: TestApi;
let worker: RunningWorker;
let operator: string;

// Clusters whose creation hangs (heartbeating) while their name is here.
const holding = new Set<string>();

before(async () => {
  db = await createTestDatabase();
  config = testConfig(db);
  worker = await startTestWorker(config, db.pool, (real) => ({
    ...real,
    async createCluster(input: CreateClusterInput) {
      // Cancelled (its workflow terminated or reset) when a heartbeat finds the run gone.
      while (holding.has(input.name)) {
        Context.current().heartbeat();
        await Context.current().sleep(500);
      }
      await real.createCluster(input);
    },
  }));
  api = await startTestApi(config, db);
  operator = await api.token('operator');
});

after(async () => {
  await api?.stop();
  await worker?.stop();
  await db?.drop();
});

const operation = async (id: string) => (await api.call('GET', `/api/v1/operations/${id}`, { token: operator })).body.operation;
const clusterRow = async (name: string) => (await db.pool.query(`SELECT id, status FROM clusters WHERE name = $1`, [name])).rows[0];

/** Starts a cluster create whose activity hangs; answers once the operation runs. */
async function hangingCreate(name: string) {
  holding.add(name);
  const res = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = res.body.operation;
  await eventually(async () => ((await operation(op.id)).status === 'RUNNING' ? true : undefined), `${name} to run`);
  return op as { id: string; workflowId: string; runId: string };
}

/** One reconcile round, run as the schedule runs it. */
async function reconcile(): Promise<ReconcileResult> {
  return api.core.temporal.workflow.execute('reconcileOperationsWorkflow', {
    taskQueue: config.temporal.taskQueue,
    workflowId: `test-reconcile-${randomUUID()}`,
    args: [],
  });
}

test('a create whose workflow is terminated in Temporal ends FAILED with the reason; the cluster is FAILED and its name reusable', async () => {
  const op = await hangingCreate('doomed');
  await api.core.temporal.workflow.getHandle(op.workflowId).terminate('pulled by the operator');

  // The schedule, triggered now instead of waiting for its interval, runs the round.
  await api.core.temporal.schedule.getHandle(operationWorkflowIds.reconcileSchedule(config.temporal.taskQueue)).trigger();
  const ended = await eventually(async () => {
    const o = await operation(op.id);
    return o.finishedAt ? o : undefined;
  }, 'the reconciler to end the operation');
  assert.equal(ended.status, 'FAILED');
  assert.deepEqual(ended.error, { code: 'WORKFLOW_TERMINATED', message: 'workflow was terminated in Temporal: pulled by the operator' });
  const failed = await eventually(async () => {
    const c = await clusterRow('doomed');
    return c.status === 'FAILED' ? c : undefined;
  }, 'the cluster to be FAILED');
  const audit = await db.pool.query(`SELECT actor, details FROM audit_log WHERE action = 'operation.reconciled' AND operation_id = $1`, [
    op.id,
  ]);
  assert.equal(audit.rows.length, 1);
  assert.equal(audit.rows[0].actor, 'reconciler');

  // A second round finds nothing to do: the operation is no longer live.
  const again = await reconcile();
  assert.equal(again.ended, 0);
  assert.deepEqual(again.clustersFailed, []);

  holding.delete('doomed');
  const retry = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'doomed' } });
  assert.equal(retry.status, 202, JSON.stringify(retry.body));
  assert.notEqual(retry.body.cluster.id, failed.id);
  await eventually(
    async () => ((await operation(retry.body.operation.id)).status === 'SUCCEEDED' ? true : undefined),
    'the new create to succeed',
  );
  const now = await db.pool.query(`SELECT id, status FROM clusters WHERE name = 'doomed'`);
  assert.deepEqual(now.rows, [{ id: retry.body.cluster.id, status: 'ACTIVE' }]);
});

test('a create cancelled before its workflow started leaves no CREATING cluster behind', async () => {
  // What a crash leaves: the reserved cluster and its PENDING operation, no workflow yet.
  const opId = randomUUID();
  const clusterId = randomUUID();
  await db.pool.query(`INSERT INTO clusters (id, name, status, created_by_operation) VALUES ($1, 'stillborn', 'CREATING', $2)`, [
    clusterId,
    opId,
  ]);
  await db.pool.query(
    `INSERT INTO operations (id, type, status, workflow_id, workflow_type, requested_by, input)
     VALUES ($1, 'cluster.create', 'PENDING', $2, 'createClusterWorkflow', 'test', '{}')`,
    [opId, `cluster-create/stillborn/${opId}`],
  );
  const cancel = await api.call('POST', `/api/v1/operations/${opId}/cancel`, { token: operator });
  assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
  const round = await reconcile();
  assert.deepEqual(round.clustersFailed, ['stillborn']);
  assert.equal((await clusterRow('stillborn')).status, 'FAILED');
});

test('an operation whose workflow no longer exists in Temporal ends FAILED', async () => {
  const id = randomUUID();
  const workflowId = `cluster-create/ghost/${id}`;
  await db.pool.query(
    `INSERT INTO operations (id, type, status, workflow_id, workflow_type, run_id, requested_by, started_at)
     VALUES ($1, 'cluster.create', 'RUNNING', $2, 'createClusterWorkflow', $3, 'test', now())`,
    [id, workflowId, randomUUID()],
  );
  const round = await reconcile();
  assert.ok(round.ended >= 1, JSON.stringify(round));
  const op = await operation(id);
  assert.equal(op.status, 'FAILED');
  assert.equal(op.error.code, 'WORKFLOW_GONE');
  assert.match(op.error.message, /no longer exists in Temporal/);
});

test('a workflow reset in Temporal carries its operation on under the new run', async () => {
  const op = await hangingCreate('phoenix');
  const client = api.core.temporal;
  const history = await client.workflow.getHandle(op.workflowId).fetchHistory();
  const firstTask = history.events!.find((e) => e.eventType === proto.temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)!;
  const reset = await client.workflowService.resetWorkflowExecution({
    namespace: client.options.namespace,
    workflowExecution: { workflowId: op.workflowId, runId: op.runId },
    reason: 'test reset',
    workflowTaskFinishEventId: firstTask.eventId,
    requestId: randomUUID(),
  });
  const newRunId = reset.runId!;
  assert.notEqual(newRunId, op.runId);

  const round = await reconcile();
  assert.equal(round.followed, 1, JSON.stringify(round));
  const followed = await operation(op.id);
  assert.equal(followed.runId, newRunId);
  assert.equal(followed.status, 'RUNNING');
  assert.equal(followed.finishedAt, null);

  holding.delete('phoenix');
  const done = await eventually(async () => {
    const o = await operation(op.id);
    return o.finishedAt ? o : undefined;
  }, 'the reset run to finish the operation');
  assert.equal(done.status, 'SUCCEEDED');
  assert.equal((await clusterRow('phoenix')).status, 'ACTIVE');
});

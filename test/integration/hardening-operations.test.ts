/**
 * Issue 7, operations: a start Temporal refuses for good fails its operation without blocking
 * the others (defect 3), operations and audit are paged (defect 3), and cancelling an
 * operation whose run Temporal no longer has ends it with the reason (defect 10). No worker
 * runs here, so started workflows wait and can be terminated or deleted by the test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Config } from '../../src/platform/settings.js';
import { operationsRepo } from '../../src/features/operations/repo.js';
import { createTestDatabase, eventually, startTestApi, testConfig, type TestApi, type TestDatabase } from '../helpers/harness.js';
import { assertProblem } from '../helpers/problems.js';

let db: TestDatabase;
let config: Config;
let api: TestApi;
let admin: string;
let operator: string;

before(async () => {
  db = await createTestDatabase();
  config = testConfig(db);
  api = await startTestApi(config, db);
  [admin, operator] = await Promise.all([api.token('admin'), api.token('operator')]);
});

after(async () => {
  await api?.stop();
  await db?.drop();
});

async function createCluster(name: string) {
  const res = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.ok(res.body.operation.runId);
  return res.body.operation as { id: string; workflowId: string };
}

const cancel = (id: string) => api.call('POST', `/api/v1/operations/${id}/cancel`, { token: operator });

describe('defect 3: an operation Temporal refuses for good', () => {
  test('fails with the reason, and the resume loop still starts the operations after it', async () => {
    const ops = operationsRepo(db.pool);
    const recorded = (id: string, name: string, input: Record<string, unknown>) =>
      ops.insert({
        id,
        type: 'cluster.create',
        clusterId: null,
        clusterName: name,
        service: null,
        workflowId: `cluster-create/${name}/${id}`,
        workflowType: 'createClusterWorkflow',
        requestedBy: 'test',
        input,
      });
    // Past Temporal's blob size limit (2 MB): the shape of the old 60,000-host inputs.
    const huge = randomUUID();
    await recorded(huge, 'huge', { operationId: huge, hostIds: Array.from({ length: 70_000 }, () => randomUUID()) });
    const fine = randomUUID();
    await recorded(fine, 'fine', { operationId: fine, clusterId: randomUUID(), name: 'fine' });

    assert.equal(await api.core.operations.resumeUnstarted(0), 1);
    const refused = (await ops.get(huge))!;
    assert.equal(refused.status, 'FAILED');
    assert.equal(refused.error?.code, 'WORKFLOW_REFUSED');
    assert.match(refused.error!.message, /Temporal refused its workflow: .*(size|limit)/i);
    assert.ok(refused.finishedAt);
    assert.ok((await ops.get(fine))!.runId, 'the operation after the refused one started');
    assert.equal(await api.core.operations.resumeUnstarted(0), 0, 'nothing is retried forever');
  });
});

describe('defect 3: operations and the audit log are paged', () => {
  test('walking the pages with cursors sees every row once', async () => {
    for (const name of ['page-a', 'page-b', 'page-c']) await createCluster(name);
    const walk = async (path: string, key: string, token: string) => {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const sep = path.includes('?') ? '&' : '?';
        const res: { status: number; body: Record<string, any> } = await api.call(
          'GET',
          `${path}${sep}limit=2${cursor ? `&cursor=${cursor}` : ''}`,
          { token },
        );
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.ok(res.body[key].length <= 2);
        ids.push(...res.body[key].map((r: { id: string }) => r.id));
        cursor = res.body.nextCursor;
      } while (cursor);
      return ids;
    };
    const operations = await walk('/api/v1/operations', 'operations', operator);
    const total = (await db.pool.query('SELECT count(*)::int AS n FROM operations')).rows[0].n;
    assert.equal(operations.length, total);
    assert.equal(new Set(operations).size, total);
    const entries = await walk('/api/v1/audit', 'entries', admin);
    assert.equal(entries.length, (await db.pool.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n);
    assert.equal(new Set(entries).size, entries.length);
    const filtered = await walk('/api/v1/operations?cluster=page-b', 'operations', operator);
    assert.equal(filtered.length, 1);
  });
});

describe('defect 10: cancel of an operation whose run no longer exists', () => {
  test('a run terminated in Temporal: the operation ends FAILED with the reason', async () => {
    const op = await createCluster('terminated');
    await api.core.temporal.workflow.getHandle(op.workflowId).terminate('terminated from the Temporal UI');
    const res = await cancel(op.id);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.operation.status, 'FAILED');
    assert.match(res.body.operation.error.message, /terminated in Temporal/);
    const shown = await api.call('GET', `/api/v1/operations/${op.id}`, { token: operator });
    assert.ok(shown.body.operation.finishedAt);
    assertProblem(await cancel(op.id), 409, 'CONFLICT');
  });

  test('a run Temporal no longer knows: the operation ends FAILED saying so', async () => {
    const op = await createCluster('deleted');
    await api.core.connection.workflowService.deleteWorkflowExecution({
      namespace: config.temporal.namespace,
      workflowExecution: { workflowId: op.workflowId },
    });
    await eventually(
      () =>
        api.core.temporal.workflow
          .getHandle(op.workflowId)
          .describe()
          .then(
            () => undefined,
            (err: unknown) => (err instanceof WorkflowNotFoundError ? true : undefined),
          ),
      'the run to be deleted',
    );
    const res = await cancel(op.id);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.operation.status, 'FAILED');
    assert.match(res.body.operation.error.message, /no longer exists in Temporal/);
  });

  test('a running run is cancelled through Temporal as before', async () => {
    const op = await createCluster('running');
    const res = await cancel(op.id);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const run = await api.core.temporal.workflow.getHandle(op.workflowId).describe();
    assert.equal(run.status.name, 'RUNNING', 'the cancel request waits for a worker to act on it');
    const history = await api.core.temporal.workflow.getHandle(op.workflowId).fetchHistory();
    assert.ok(
      history.events?.some((e) => e.workflowExecutionCancelRequestedEventAttributes),
      'a cancel was requested',
    );
  });
});

/**
 * The operation engine's decisions (retry, skip, abort, rollback) on the real deploy and
 * restart workflows, run by Temporal's time-skipping test server against fake activities:
 * no sshd, Postgres or dev server, and activity retry backoff takes no wall time.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { decideUpdate, type DecisionAction } from '../../../src/features/operations/workflow/messages.js';
import type { deployServiceWorkflow, serviceActionWorkflow } from '../../../src/features/services/workflow/services.js';
import { createTimeSkippingEnv, skipUntil } from '../../helpers/time-skipping.js';
import { FakeOperation, fakeActivities } from './fakes.js';

const taskQueue = 'engine-unit';
let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;

before(async () => {
  env = await createTimeSkippingEnv();
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    // The real workflow code: the deploy, action and remove workflows and the engine under them.
    workflowsPath: fileURLToPath(new URL('../../../src/features/services/workflow/services.ts', import.meta.url)),
    activities: fakeActivities(),
  });
  running = worker.run();
});
after(async () => {
  worker?.shutdown();
  await running;
  await env?.teardown();
});

async function deploy(hosts: string[]) {
  const op = new FakeOperation(hosts);
  const handle = await env.client.workflow.start<typeof deployServiceWorkflow>('deployServiceWorkflow', {
    taskQueue,
    workflowId: `deploy/${op.operationId}`,
    args: [{ operationId: op.operationId, serviceId: op.serviceId }],
  });
  return { op, handle };
}

async function restart(hosts: string[]) {
  const op = new FakeOperation(hosts);
  const handle = await env.client.workflow.start<typeof serviceActionWorkflow>('serviceActionWorkflow', {
    taskQueue,
    workflowId: `restart/${op.operationId}`,
    args: [{ operationId: op.operationId, serviceId: op.serviceId, action: 'restart' }],
  });
  return { op, handle };
}

const decide = (handle: WorkflowHandle, action: DecisionAction) => handle.executeUpdate(decideUpdate, { args: [{ action }] });
const holding = (op: FakeOperation) => skipUntil(env, () => op.state?.status === 'HOLDING', 'the operation to hold');
/** What a validator refused, as the API reports it. */
const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => assert.fail('the decision was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
  return (err.cause as Error).message;
};
const definitive = (message: string) => ApplicationFailure.nonRetryable(message, 'PACKAGE_INVALID');
const sorted = (xs: string[]) => [...xs].sort();

test('a step that keeps failing is retried by its policy, then holds; retry runs it again and the deploy succeeds', async () => {
  const { op, handle } = await deploy(['h1', 'h2']);
  op.fail('install h2', new Error('connect ECONNREFUSED 127.0.0.2:22'));
  await holding(op);

  assert.equal(op.count('install h2'), 3, 'the host step policy allows three attempts');
  assert.deepEqual(op.state, {
    status: 'HOLDING',
    holding: [
      { operationId: op.operationId, host: 'h2', role: '', phase: 'install', step: 'install', reason: 'connect ECONNREFUSED 127.0.0.2:22' },
    ],
    canRollback: true,
    phase: 'install',
    progress: { done: 0, total: 2 + 2 * 3 },
  });
  assert.ok(!op.calls.includes('configure h1'), 'the next phase waits for the held step');

  op.heal('install h2');
  assert.deepEqual(await decide(handle, 'retry'), { accepted: 'retry', steps: 1 });
  assert.equal(op.state?.status, 'RUNNING', 'the decision is recorded before the Update answers');

  assert.deepEqual(await handle.result(), { hosts: 2, instances: 2, skippedHosts: [], followUps: [] });
  assert.equal(op.count('install h2'), 4);
  assert.deepEqual(op.finished, { status: 'SUCCEEDED', result: { hosts: 2, instances: 2, skippedHosts: [], followUps: [] } });
  for (const h of ['h1', 'h2']) for (const s of ['configure', 'start', 'health']) assert.equal(op.count(`${s} ${h}`), 1, `${s} ${h}`);
  assert.ok(op.calls.includes('markServiceDeployed'));
  assert.deepEqual(op.skipped, []);
});

test('skip carries on without the host and records the step skipped; a definitive failure holds at once', async () => {
  const { op, handle } = await deploy(['h1', 'h2']);
  op.fail('install h2', definitive('package checksum mismatch'));
  await holding(op);
  assert.equal(op.count('install h2'), 1, 'a definitive failure is not retried');

  assert.deepEqual(await decide(handle, 'skip'), { accepted: 'skip', steps: 1 });
  const result = await handle.result();
  assert.deepEqual(result, { hosts: 2, instances: 1, skippedHosts: ['h2'], followUps: [] });
  assert.deepEqual(op.skipped, [
    {
      key: { operationId: op.operationId, host: 'h2', role: '', phase: 'install', step: 'install' },
      reason: 'skipped by the operator after: package checksum mismatch',
    },
  ]);
  assert.deepEqual(
    op.calls.filter((c) => c.endsWith(' h2')),
    ['install h2'],
    'nothing else runs on the skipped host',
  );
  assert.deepEqual(op.calls.slice(-3), ['start h1', 'health h1', 'markServiceDeployed']);
  assert.equal(op.finished?.status, 'SUCCEEDED');
});

test('abort ends the operation FAILED with ABORTED, the service FAILED and nothing undone', async () => {
  const { op, handle } = await deploy(['h1', 'h2']);
  op.fail('configure h2', definitive('template error in zoo.cfg'));
  await holding(op);

  assert.deepEqual(await decide(handle, 'abort'), { accepted: 'abort', steps: 1 });
  const err = await handle.result().then(
    () => assert.fail('an aborted operation completed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
  assert.equal(err.cause.type, 'ABORTED');
  assert.deepEqual(op.finished, {
    status: 'FAILED',
    error: { code: 'ABORTED', message: 'Aborted by the operator at configure/configure on h2: template error in zoo.cfg' },
  });
  assert.equal(op.calls.at(-1), 'setServiceStatus FAILED');
  for (const undo of ['stop', 'remove-files', 'deleteServiceRows', 'markServiceDeployed']) {
    assert.ok(!op.calls.some((c) => c.startsWith(undo)), `no ${undo}`);
  }
});

test('rollback stops every instance, then removes the files, then forgets the service: ROLLED_BACK', async () => {
  const { op, handle } = await deploy(['h1', 'h2']);
  op.fail('start h2', definitive('address already in use'));
  await holding(op);
  assert.ok(op.calls.includes('health h1'), 'h1 was started before the hold');

  const before = op.calls.length;
  assert.deepEqual(await decide(handle, 'rollback'), { accepted: 'rollback', steps: 1 });
  const rolledBack = { removedFrom: ['h1', 'h2'], skippedHosts: [] };
  assert.deepEqual(await handle.result(), { rolledBack });

  const undo = op.calls.slice(before);
  assert.equal(undo.length, 5, undo.join(', '));
  assert.deepEqual(sorted(undo.slice(0, 2)), ['stop h1', 'stop h2']);
  assert.deepEqual(sorted(undo.slice(2, 4)), ['remove-files h1', 'remove-files h2']);
  assert.equal(undo[4], 'deleteServiceRows');
  assert.deepEqual(op.finished, { status: 'ROLLED_BACK', result: { rolledBack } });
  assert.equal(op.state?.phase, 'rollback');
  assert.equal(op.state?.canRollback, false);
  assert.ok(!op.calls.includes('setServiceStatus FAILED'), 'a rolled-back service is deleted, not marked FAILED');
});

test('a step failing during the rollback holds it again; rollback is refused then, retry finishes it', async () => {
  const { op, handle } = await deploy(['h1', 'h2']);
  op.fail('start h2', definitive('address already in use'));
  await holding(op);
  op.fail('stop h2', definitive('permission denied'));
  await decide(handle, 'rollback');
  await holding(op);
  assert.deepEqual(
    op.state?.holding.map((h) => `${h.phase}/${h.step} ${h.host}`),
    ['rollback/stop h2'],
  );
  assert.equal(op.state?.canRollback, false);

  assert.equal(await refusal(decide(handle, 'rollback')), 'cannot roll back: the operation is already rolling back');
  op.heal('stop h2');
  await decide(handle, 'retry');
  assert.deepEqual(await handle.result(), { rolledBack: { removedFrom: ['h1', 'h2'], skippedHosts: [] } });
  assert.equal(op.finished?.status, 'ROLLED_BACK');
});

test('a restart refuses a decision while nothing holds and a rollback while it holds; retry completes it', async () => {
  const { op, handle } = await restart(['h1', 'h2']);
  const gate = op.gate('stop h1');
  await gate.entered;
  assert.equal(await refusal(decide(handle, 'retry')), 'the operation is not HOLDING: no step waits for a decision');
  gate.release();

  op.fail('start h2', definitive('address already in use'));
  await holding(op);
  assert.equal(op.state?.canRollback, false);
  assert.equal(
    await refusal(decide(handle, 'rollback')),
    'cannot roll back: a restart changes no files or versions, so there is nothing to undo; use retry, skip or abort',
  );
  assert.equal(op.state?.status, 'HOLDING', 'a refused decision changes nothing');

  op.heal('start h2');
  await decide(handle, 'retry');
  assert.deepEqual(await handle.result(), { action: 'restart', instances: 2, skippedHosts: [], failed: [] });
  assert.deepEqual(sorted(op.calls.slice(1, 3)), ['stop h1', 'stop h2'], 'both stop before anything starts');
  assert.equal(op.finished?.status, 'SUCCEEDED');
});

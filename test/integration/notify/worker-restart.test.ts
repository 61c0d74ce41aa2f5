/**
 * The worker process killed (SIGKILL) while an escalation waits between steps, and another
 * started: the durable timer lives in Temporal, so step 2 still comes, once, after its wait.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, test } from 'node:test';
import { createEscalations } from '../../../src/features/notify/escalation-client.js';
import { escalationWorkflowId, progressQuery } from '../../../src/features/notify/workflow/messages.js';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  temporalAddress,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../../helpers/harness.js';
import { SOPHON_ARGS } from '../../helpers/sophon-cli.js';
import { insertAlert, setAlertState, startReceiver, type Receiver } from './helpers.js';

const WAIT_SECONDS = 15;

let db: TestDatabase | undefined;
let api: TestApi | undefined;
let receiver: Receiver | undefined;
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await api?.stop();
  await receiver?.close();
  await db?.drop();
});

test('a worker killed during an escalation wait: the next worker sends step 2 after the wait', { timeout: 180_000 }, async (t) => {
  db = await createTestDatabase();
  const config = testConfig(db);
  api = await startTestApi(config, db);
  receiver = await startReceiver();

  const startWorker = async () => {
    const child = spawn(process.execPath, [...SOPHON_ARGS, 'worker'], {
      env: {
        ...process.env,
        DATABASE_URL: db!.url,
        TEMPORAL_ADDRESS: temporalAddress(),
        TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
        SOPHON_MASTER_KEY: config.masterKey,
        SOPHON_SHUTDOWN_GRACE_SECONDS: '2',
        SOPHON_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    await eventually(async () => (output.includes('Sophon worker running') ? true : undefined), 'the worker process to run', 90_000);
    return child;
  };

  const admin = await api.token('admin');
  const call = (path: string, body: unknown) => api!.call('POST', path, { token: admin, body });
  assert.equal(
    (await call('/api/v1/notification-channels', { name: 'first', type: 'webhook', config: { url: `${receiver.url}/first` } })).status,
    201,
  );
  assert.equal(
    (await call('/api/v1/notification-channels', { name: 'second', type: 'webhook', config: { url: `${receiver.url}/second` } })).status,
    201,
  );
  const policy = await call('/api/v1/escalation-policies', {
    name: 'two-steps',
    steps: [
      { channels: ['first'], waitSeconds: WAIT_SECONDS },
      { channels: ['second'], waitSeconds: 1 },
    ],
    default: true,
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));

  const first = await startWorker();
  const alertId = await insertAlert(db.pool, { name: 'HdfsNameNodeDown', host: 'n0', service: 'hdfs' });
  await createEscalations(api.core.temporal, config.temporal.taskQueue).start(alertId);
  const step1 = await eventually(async () => receiver!.on('/first')[0], 'step 1', 60_000);
  const handle = api.core.temporal.workflow.getHandle(escalationWorkflowId(alertId));
  await eventually(
    async () => ((await handle.query(progressQuery)).phase === 'waiting' ? true : undefined),
    'the chain to wait after step 1',
  );

  // Killed as by a crash, mid-wait; a new worker process takes over.
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const killedAfter = Date.now() - step1.at;
  await startWorker();
  const step2 = await eventually(async () => receiver!.on('/second')[0], 'step 2 from the new worker', 90_000);
  const gap = step2.at - step1.at;
  t.diagnostic(`worker killed ${killedAfter} ms after step 1; step 2 came ${gap} ms after step 1 (wait ${WAIT_SECONDS * 1000} ms)`);
  assert.ok(killedAfter < WAIT_SECONDS * 1000, 'the worker died during the wait');
  assert.ok(gap >= WAIT_SECONDS * 1000, 'step 2 waited for its timer');
  assert.equal(receiver.on('/first').length, 1, 'step 1 was not sent again');
  assert.equal(step2.body.alert.id, alertId);

  await setAlertState(db.pool, alertId, 'resolved', 'test');
  await createEscalations(api.core.temporal, config.temporal.taskQueue).resolve(alertId, 'test');
  await eventually(async () => (receiver!.on('/second').some((h) => h.body.kind === 'resolved') ? true : undefined), 'the resolved notice');
});

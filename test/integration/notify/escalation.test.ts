/**
 * An alert's escalation chain on real Temporal and Postgres, delivering to a real HTTP
 * receiver and a real SMTP server: steps with waits, ack, un-ack timeout, resolve, and a
 * second start that changes nothing. Secrets stay out of API answers and workflow history.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createEscalations, type Escalations } from '../../../src/features/notify/escalation-client.js';
import type { RunningWorker } from '../../../src/worker.js';
import { escalationWorkflowId } from '../../../src/features/notify/workflow/messages.js';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../../helpers/harness.js';
import { insertAlert, setAlertState, sleep, startReceiver, startSmtp, type Receiver } from './helpers.js';

const URL_TOKEN = 'urltoken-9f3a77';
const HEADER_SECRET = 'Bearer hdr-secret-51c2';
const SMTP_PASSWORD = 'smtp-pw-0d1e';
const SECRETS = [URL_TOKEN, HEADER_SECRET, SMTP_PASSWORD];

let db: TestDatabase;
let api: TestApi;
let worker: RunningWorker;
let receiver: Receiver;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let admin: string;
let escalations: Escalations;

before(async () => {
  db = await createTestDatabase();
  const config = testConfig(db, { SOPHON_PUBLIC_URL: 'https://sophon.example' });
  api = await startTestApi(config, db);
  worker = await startTestWorker(config, db.pool);
  receiver = await startReceiver();
  smtp = await startSmtp('alerts', SMTP_PASSWORD);
  admin = await api.token('admin');
  escalations = createEscalations(api.core.temporal, config.temporal.taskQueue);
});
after(async () => {
  await worker?.stop();
  await api?.stop();
  await receiver?.close();
  await smtp?.close();
  await db?.drop();
});

const call = (method: string, path: string, body?: unknown) => api.call(method, path, { token: admin, body });

test('step 1 reaches HTTP and email, step 2 follows its wait, ack stops, un-ack re-opens, resolve notifies every channel', async () => {
  for (const [name, config] of [
    ['hook', { url: `${receiver.url}/hook?token=${URL_TOKEN}`, headers: { Authorization: HEADER_SECRET } }],
    ['later', { url: `${receiver.url}/later` }],
  ] as const) {
    const res = await call('POST', '/api/v1/notification-channels', { name, type: 'webhook', config });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const mail = await call('POST', '/api/v1/notification-channels', {
    name: 'mail',
    type: 'email',
    config: {
      host: '127.0.0.1',
      port: smtp.port,
      username: 'alerts',
      password: SMTP_PASSWORD,
      from: 'sophon@example.com',
      to: ['oncall@example.com'],
    },
  });
  assert.equal(mail.status, 201, JSON.stringify(mail.body));
  assert.equal(mail.body.config.hasPassword, true);
  const policy = await call('POST', '/api/v1/escalation-policies', {
    name: 'oncall',
    steps: [
      { channels: ['hook', 'mail'], waitSeconds: 2 },
      { channels: ['later'], waitSeconds: 1 },
    ],
    repeat: 1,
    unackTimeoutSeconds: 6,
    default: true,
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));
  assert.equal(policy.body.default, true);

  const alertId = await insertAlert(db.pool, {
    name: 'ZooKeeperDown',
    host: 'n1',
    service: 'zookeeper',
    summary: 'zookeeper on n1 is down',
    value: 0,
  });
  await escalations.start(alertId);
  const handle = api.core.temporal.workflow.getHandle(escalationWorkflowId(alertId));
  const firstRun = (await handle.describe()).runId;
  await escalations.start(alertId); // a second start is a no-op
  assert.equal((await handle.describe()).runId, firstRun);

  // Step 1: the webhook (with its secret URL and header) and the mail.
  const step1 = await eventually(async () => receiver.on('/hook')[0], 'step 1 on the webhook');
  assert.equal(step1.search, `?token=${URL_TOKEN}`);
  assert.equal(step1.headers.authorization, HEADER_SECRET);
  assert.equal(step1.body.kind, 'firing');
  assert.equal(step1.body.alert.name, 'ZooKeeperDown');
  assert.equal(step1.body.alert.host, 'n1');
  assert.equal(step1.body.alert.service, 'zookeeper');
  assert.equal(step1.body.alert.severity, 'critical');
  assert.equal(step1.body.alert.summary, 'zookeeper on n1 is down');
  assert.equal(step1.body.alert.link, `https://sophon.example/api/v1/alerts/${alertId}`);
  assert.equal(step1.body.step, 1);
  const mail1 = await eventually(async () => smtp.mails[0], 'step 1 by mail');
  assert.deepEqual(mail1.to, ['oncall@example.com']);
  assert.match(mail1.data, /Subject: \[FIRING\] ZooKeeperDown \(critical\)/);
  assert.match(mail1.data, /Host: n1/);

  // Step 2 after the 2 s wait.
  const step2 = await eventually(async () => receiver.on('/later')[0], 'step 2');
  assert.ok(step2.at - step1.at >= 2000, `step 2 came ${step2.at - step1.at} ms after step 1, before its wait`);
  assert.equal(step2.body.step, 2);
  assert.equal(receiver.on('/hook').length, 1, 'a second start sent nothing more');
  assert.equal(smtp.mails.length, 1);

  // Ack: the chain is done (repeat 1); nothing arrives while acknowledged (< un-ack timeout).
  await setAlertState(db.pool, alertId, 'acknowledged', 'token:ops');
  await escalations.ack(alertId, 'token:ops', 'looking');
  await eventually(
    async () => ((await handle.query('progress')) as { phase: string }).phase === 'acknowledged' || undefined,
    'the chain to see the ack',
  );
  await sleep(3000);
  assert.equal(receiver.on('/hook').length, 1);
  assert.equal(receiver.on('/later').length, 1);

  // The un-ack timeout (6 s) re-opens the alert and runs the chain again from step 1.
  const again = await eventually(async () => receiver.on('/hook')[1], 'step 1 again after the un-ack timeout', 20_000);
  const state = await db.pool.query(`SELECT state FROM alerts WHERE id = $1`, [alertId]);
  assert.equal(state.rows[0].state, 'firing');
  const events = await db.pool.query(`SELECT from_state, to_state, actor FROM alert_events WHERE alert_id = $1 ORDER BY id`, [alertId]);
  assert.deepEqual(events.rows.at(-1), { from_state: 'acknowledged', to_state: 'firing', actor: 'escalation' });
  assert.equal(again.body.round, 1);

  // Ack during the wait after step 1: step 2 never comes (waiting well past its 2 s).
  await setAlertState(db.pool, alertId, 'acknowledged', 'token:ops');
  await escalations.ack(alertId, 'token:ops');
  await sleep(3500);
  assert.equal(receiver.on('/later').length, 1, 'an ack stops further steps');

  // Resolve: every notified channel gets the resolved notice; the chain ends.
  await setAlertState(db.pool, alertId, 'resolved', 'token:ops');
  await escalations.resolve(alertId, 'token:ops');
  const outcome = await handle.result();
  assert.equal(outcome.outcome, 'resolved');
  for (const path of ['/hook', '/later']) {
    const resolved = receiver.on(path).filter((h) => h.body.kind === 'resolved');
    assert.equal(resolved.length, 1, `one resolved notice on ${path}`);
    assert.equal(resolved[0]!.body.alert.state, 'resolved');
  }
  assert.equal(smtp.mails.filter((m) => /Subject: \[RESOLVED\] ZooKeeperDown/.test(m.data)).length, 1);

  // Starting a resolved alert's chain again sends nothing.
  const before = receiver.hits.length + smtp.mails.length;
  await escalations.start(alertId);
  await eventually(async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined), 'the extra run to end');
  assert.equal(receiver.hits.length + smtp.mails.length, before);

  // Every delivery is recorded; the history carries ids and counts, never a secret.
  const rows = await db.pool.query(`SELECT channel_name, kind, status FROM alert_notifications WHERE alert_id = $1 ORDER BY id`, [alertId]);
  assert.ok(
    rows.rows.every((r) => r.status === 'sent'),
    JSON.stringify(rows.rows),
  );
  assert.equal(rows.rows.filter((r) => r.kind === 'firing').length, 5);
  const history = JSON.stringify(
    (await api.core.temporal.workflow.getHandle(escalationWorkflowId(alertId), firstRun).fetchHistory()).events,
  );
  assert.match(history, /escalationPlan/);
  for (const secret of [...SECRETS, receiver.url, 'ZooKeeperDown']) assert.ok(!history.includes(secret), `history holds ${secret}`);
});

test('channel answers never carry secrets; neither does the table in the clear', async () => {
  const list = await call('GET', '/api/v1/notification-channels');
  assert.equal(list.status, 200);
  const hook = list.body.channels.find((c: any) => c.name === 'hook');
  assert.deepEqual(hook.config, { urlHost: new URL(receiver.url).host, headerNames: ['Authorization'] });
  const one = await call('GET', `/api/v1/notification-channels/${hook.id}`);
  const texts = [JSON.stringify(list.body), JSON.stringify(one.body)];
  const rows = await db.pool.query(`SELECT config::text, sealed_secrets FROM notification_channels`);
  texts.push(JSON.stringify(rows.rows));
  for (const text of texts) for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} shown`);
  assert.ok(rows.rows.every((r) => r.sealed_secrets?.startsWith('v1:')));
});

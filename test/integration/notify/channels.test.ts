/**
 * Channels and policies through the API on real Temporal and Postgres: chat formats as their
 * robots expect them, a failing channel that blocks nobody and raises its own alert, bad input.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
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
import { assertBadField, assertProblem } from '../../helpers/problems.js';
import { insertAlert, startReceiver, type Receiver } from './helpers.js';

let db: TestDatabase;
let api: TestApi;
let worker: RunningWorker;
let receiver: Receiver;
let admin: string;
let escalations: Escalations;

before(async () => {
  db = await createTestDatabase();
  const config = testConfig(db);
  api = await startTestApi(config, db);
  worker = await startTestWorker(config, db.pool);
  receiver = await startReceiver();
  admin = await api.token('admin');
  escalations = createEscalations(api.core.temporal, config.temporal.taskQueue);
});
after(async () => {
  await worker?.stop();
  await api?.stop();
  await receiver?.close();
  await db?.drop();
});

const call = (method: string, path: string, body?: unknown) => api.call(method, path, { token: admin, body });

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test("Slack, DingTalk and WeCom channel tests arrive in their robots' formats and are recorded", async () => {
  for (const type of ['slack', 'dingtalk', 'wecom']) {
    const created = await call('POST', '/api/v1/notification-channels', {
      name: type,
      type,
      config: { url: `${receiver.url}/${type}?access_token=tok-${type}` },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.config, { urlHost: new URL(receiver.url).host });
    const res = await call('POST', `/api/v1/notification-channels/${type}/test`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { channel: type, status: 'sent', attempts: 1 });
  }
  const slack = receiver.on('/slack')[0]!;
  assert.equal(slack.search, '?access_token=tok-slack');
  assert.equal(typeof slack.body.text, 'string');
  assert.ok(Array.isArray(slack.body.blocks));
  assert.match(slack.body.text, /\[TEST\].*'slack'/);
  const ding = receiver.on('/dingtalk')[0]!;
  assert.equal(ding.body.msgtype, 'markdown');
  assert.equal(typeof ding.body.markdown.title, 'string');
  assert.equal(typeof ding.body.markdown.text, 'string');
  const wecom = receiver.on('/wecom')[0]!;
  assert.equal(wecom.body.msgtype, 'markdown');
  assert.deepEqual(Object.keys(wecom.body.markdown), ['content']);
  const rows = await db.pool.query(`SELECT channel_name, channel_type, kind, status, alert_id FROM alert_notifications ORDER BY id`);
  assert.deepEqual(
    rows.rows.map((r) => `${r.channel_name}/${r.channel_type}/${r.kind}/${r.status}/${r.alert_id}`),
    ['slack/slack/test/sent/null', 'dingtalk/dingtalk/test/sent/null', 'wecom/wecom/test/sent/null'],
  );
  const got = await call('GET', '/api/v1/notification-channels/wecom');
  assert.ok(got.body.lastSuccessAt);
  assert.equal(got.body.lastError, null);
  assert.ok(!JSON.stringify(got.body).includes('tok-wecom'));
});

test('a failing channel blocks no other, is retried, shows its error and raises NotificationChannelFailing', async () => {
  receiver.failing.add('/broken');
  const channels = [
    { name: 'broken', type: 'webhook', config: { url: `${receiver.url}/broken?token=leak-me` } },
    { name: 'closed', type: 'webhook', config: { url: `http://127.0.0.1:${await closedPort()}/x` } },
    { name: 'good', type: 'webhook', config: { url: `${receiver.url}/good` } },
  ];
  for (const c of channels) assert.equal((await call('POST', '/api/v1/notification-channels', c)).status, 201);
  const policy = await call('POST', '/api/v1/escalation-policies', {
    name: 'all',
    steps: [{ channels: ['broken', 'closed', 'good'], waitSeconds: 60 }],
    default: true,
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));

  const alertId = await insertAlert(db.pool, { name: 'KafkaBrokerDown', host: 'n2', service: 'kafka' });
  await escalations.start(alertId);
  const good = await eventually(
    async () => receiver.on('/good').find((h) => h.body.alert?.id === alertId),
    'the good channel to get step 1',
  );
  const broken = await eventually(async () => {
    const hits = receiver.on('/broken').filter((h) => h.body.alert?.id === alertId);
    return hits.length === 3 ? hits : undefined;
  }, 'three attempts on the broken channel');
  assert.ok(good.at < broken[2]!.at, "the good channel did not wait for the broken one's retries");
  assert.ok(broken[2]!.at - broken[0]!.at >= 3000, 'attempts are spaced by a backoff (1 s, then 2 s)');

  const rows = await eventually(async () => {
    const r = await db.pool.query(
      `SELECT channel_name, status, attempts, error FROM alert_notifications WHERE alert_id = $1 ORDER BY channel_name`,
      [alertId],
    );
    return r.rows.length === 3 ? r.rows : undefined;
  }, 'three delivery records');
  assert.deepEqual(
    rows.map((r) => `${r.channel_name}:${r.status}:${r.attempts}`),
    ['broken:failed:3', 'closed:failed:3', 'good:sent:1'],
  );

  const shown = await call('GET', '/api/v1/notification-channels/broken');
  assert.match(shown.body.lastError, /HTTP 500/);
  assert.ok(!shown.body.lastError.includes('leak-me'), 'errors name the host, never the URL');
  assert.ok(shown.body.lastFailureAt);
  const closed = await call('GET', '/api/v1/notification-channels/closed');
  assert.match(closed.body.lastError, /cannot connect \(ECONNREFUSED\)/);

  const failing = await db.pool.query(
    `SELECT id, fingerprint, state, severity, labels FROM alerts WHERE rule_name = 'NotificationChannelFailing' ORDER BY labels->>'channel'`,
  );
  assert.deepEqual(
    failing.rows.map((r) => [r.fingerprint, r.state, r.severity, r.labels]),
    [
      [
        `channel:${shown.body.id}`,
        'firing',
        'warning',
        { alertname: 'NotificationChannelFailing', channel: 'broken', severity: 'warning' },
      ],
      [
        `channel:${closed.body.id}`,
        'firing',
        'warning',
        { alertname: 'NotificationChannelFailing', channel: 'closed', severity: 'warning' },
      ],
    ],
  );
  // Each failure alert is escalated through the default policy, never through its own channel.
  const [brokenAlert, closedAlert] = failing.rows.map((r) => r.id as string);
  await eventually(
    async () => receiver.on('/good').find((h) => h.body.alert?.id === brokenAlert),
    "the broken channel's alert on the good channel",
  );
  await eventually(
    async () => receiver.on('/good').find((h) => h.body.alert?.id === closedAlert),
    "the closed channel's alert on the good channel",
  );
  const self = await db.pool.query(
    `SELECT count(*)::int AS n FROM alert_notifications n JOIN alerts a ON a.id = n.alert_id
     WHERE a.rule_name = 'NotificationChannelFailing' AND a.fingerprint = 'channel:' || n.channel_id`,
  );
  assert.equal(self.rows[0].n, 0);

  // The channel recovers: its next success resolves its alert (and its chain sends the resolved notice).
  receiver.failing.delete('/broken');
  const test1 = await call('POST', '/api/v1/notification-channels/broken/test');
  assert.equal(test1.body.status, 'sent');
  const resolved = await db.pool.query(`SELECT state, resolved_by FROM alerts WHERE id = $1`, [brokenAlert]);
  assert.deepEqual(resolved.rows[0], { state: 'resolved', resolved_by: 'sophon' });
  const outcome = await api.core.temporal.workflow.getHandle(escalationWorkflowId(brokenAlert!)).result();
  assert.equal(outcome.outcome, 'resolved');
  assert.ok(receiver.on('/good').some((h) => h.body.alert?.id === brokenAlert && h.body.kind === 'resolved'));
  assert.equal((await call('GET', '/api/v1/notification-channels/broken')).body.lastError, null);

  // Outcomes by channel type on the API's /metrics.
  const metrics = await fetch(`${api.url}/metrics`).then((r) => r.text());
  const families = parsePrometheusTextFormat(metrics);
  const value = (status: string, type: string) =>
    Number(
      families
        .find((f) => f.name === 'sophon_notifications_total')
        ?.metrics.find((m) => 'labels' in m && m.labels?.channel_type === type && m.labels?.status === status)?.value ?? 0,
    );
  const counts = await db.pool.query(
    `SELECT status, count(*)::int AS n FROM alert_notifications WHERE channel_type = 'webhook' GROUP BY status`,
  );
  const want = Object.fromEntries(counts.rows.map((r) => [r.status, r.n]));
  assert.equal(value('failed', 'webhook'), want.failed);
  assert.equal(value('sent', 'webhook'), want.sent);
  assert.ok(want.failed >= 2 && want.sent >= 3);
  assert.equal(value('sent', 'slack'), 1);
  await escalations.resolve(alertId, 'test');
});

test('bad input names the field; policies naming unknown channels are refused with 422', async () => {
  assertBadField(
    await call('POST', '/api/v1/notification-channels', { name: 'x', type: 'webhook', config: { url: 'not a url' } }),
    'config.url',
  );
  assertBadField(await call('POST', '/api/v1/notification-channels', { name: 'x', type: 'pager', config: {} }), 'type');
  assertBadField(
    await call('POST', '/api/v1/notification-channels', {
      name: 'x',
      type: 'email',
      config: { host: 'h', port: 70000, from: 'a@example.com', to: ['b@example.com'] },
    }),
    'config.port',
  );
  // What the OpenAPI document declares (format email: at most 64 characters before the @) and host names as host names.
  const mail = (config: object) => ({
    name: 'x',
    type: 'email',
    config: { host: 'smtp.example.com', port: 25, from: 'a@example.com', to: ['b@example.com'], ...config },
  });
  assertBadField(
    await call('POST', '/api/v1/notification-channels', mail({ to: [`${'a'.repeat(65)}@example.com`] })),
    'config.to.0',
    /at most 64 characters before the @/,
  );
  assertBadField(
    await call('POST', '/api/v1/notification-channels', mail({ host: '0', port: 1 })),
    'config.host',
    /host name \(RFC 1123\) or IP address/,
  );
  const openapi = (await call('GET', '/api/openapi.json')).body;
  const emailConfig = openapi.paths['/api/v1/notification-channels'].post.requestBody.content['application/json'].schema.oneOf.find(
    (s: { properties: { type: { const: string } } }) => s.properties.type.const === 'email',
  ).properties.config.properties;
  assert.equal(emailConfig.to.items.format, 'email');
  assert.equal(new RegExp(emailConfig.to.items.pattern).test(`${'a'.repeat(65)}@example.com`), false, 'the document refuses it too');
  assert.equal(
    emailConfig.host.anyOf.some((h: { pattern: string }) => new RegExp(h.pattern).test('0')),
    false,
    'the document refuses host 0 too',
  );
  assertBadField(await call('POST', '/api/v1/escalation-policies', { name: 'p', steps: [] }), 'steps');
  assertBadField(
    await call('POST', '/api/v1/escalation-policies', { name: 'p', steps: [{ channels: ['good'], waitSeconds: -1 }] }),
    'steps.0.waitSeconds',
  );
  const unknown = await call('POST', '/api/v1/escalation-policies', {
    name: 'p',
    steps: [
      { channels: ['good'], waitSeconds: 5 },
      { channels: ['nope', 'good', 'gone'], waitSeconds: 5 },
    ],
  });
  assertProblem(unknown, 422, 'UNKNOWN_REFERENCE');
  assert.deepEqual(
    unknown.body.errors.map((e: { path: string }) => e.path),
    ['steps.1.channels.0', 'steps.1.channels.2'],
  );
  assertProblem(
    await call('POST', '/api/v1/notification-channels', { name: 'good', type: 'slack', config: { url: 'https://hooks.example/x' } }),
    409,
    'CONFLICT',
  );
  assertProblem(await call('DELETE', '/api/v1/notification-channels/good'), 409, 'CONFLICT');
  assertProblem(await call('GET', '/api/v1/escalation-policies/none'), 404, 'NOT_FOUND');
  const doc = await call('GET', '/api/openapi.json');
  assert.equal(doc.status, 200);
  assert.ok(doc.body.paths['/api/v1/notification-channels'].post.requestBody);
  assert.ok(doc.body.paths['/api/v1/escalation-policies/{policy}'].put.requestBody);
  const viewer = await api.token('viewer');
  assert.equal((await api.call('GET', '/api/v1/notification-channels', { token: viewer })).status, 403);
});

test('channels and policies are replaced and deleted', async () => {
  const put = await call('PUT', '/api/v1/escalation-policies/all', {
    name: 'all',
    steps: [{ channels: ['good'], waitSeconds: 5 }],
    repeat: 2,
  });
  assert.equal(put.status, 200, JSON.stringify(put.body));
  assert.equal(put.body.repeat, 2);
  assert.equal(put.body.default, false);
  const renamed = await call('PUT', '/api/v1/notification-channels/closed', {
    name: 'closed2',
    type: 'slack',
    config: { url: 'https://hooks.example/T/B/secret' },
  });
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  assert.deepEqual(renamed.body.config, { urlHost: 'hooks.example' });
  assert.equal((await call('DELETE', '/api/v1/notification-channels/closed2')).status, 204);
  assert.equal((await call('GET', '/api/v1/notification-channels/closed2')).status, 404);
  assert.equal((await call('DELETE', '/api/v1/escalation-policies/all')).status, 204);
  assert.equal((await call('GET', '/api/v1/escalation-policies')).body.policies.length, 0);
});

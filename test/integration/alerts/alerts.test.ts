/**
 * Alerting on a real fleet: node-exporter on three hosts exports a value the test writes into
 * its textfile-collector directory; a rule on it fires for that host only, pages a real HTTP
 * receiver then a real SMTP server through the escalation chain, stops on ack, and resolves
 * (with the resolved notice) when the value goes back. Silences and maintenance mute.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import type { EvaluationCounts } from '../../../src/features/alerts/activities.js';
import { monitoringWorkflowIds } from '../../../src/features/monitoring/types.js';
import { eventually } from '../../helpers/harness.js';
import { pgrep, startStack, type Stack } from '../services/helpers.js';

let s: Stack;
let clusterId: string;
const PORT = 19630;
const HOSTS = ['n0', 'n1', 'n2'];
/** Waits between escalation steps: seconds, so the chain runs within the test. */
const WAIT = 3;

interface Received {
  at: number;
  kind: string;
  alertId: string;
  step: number | null;
}
const hooks: Received[] = [];
const mails: Array<{ at: number; subject: string; text: string }> = [];
let http: Server;
let smtp: SMTPServer;

async function listen(
  server: { listen: (port: number, host: string, cb: () => void) => unknown },
  address: () => AddressInfo,
): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return address().port;
}

before(async () => {
  s = await startStack({ hosts: 3, block: 63, cluster: 'alrt', env: { SOPHON_POLL_INTERVAL_SECONDS: '3600' } });
  clusterId = (await s.call('GET', '/api/v1/clusters/alrt')).body.id;
  assert.deepEqual([0, 1, 2].flatMap(exporterPids), [], 'no exporter left over on the fleet addresses');
  // Every host exports the value from the start; only n1's crosses the threshold later.
  for (const i of [0, 1, 2]) await setValue(i, 1);
  const res = await s.call('POST', '/api/v1/clusters/alrt/services', {
    service: 'node-exporter',
    placement: { exporter: HOSTS },
    config: { port: PORT },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal((await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  // Exporters the tests kill stay down for the rules to see: no auto-recovery in between.
  assert.equal((await s.call('PATCH', '/api/v1/clusters/alrt/services/node-exporter', { autoRecovery: { enabled: false } })).status, 200);

  http = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const n = JSON.parse(body) as { kind: string; alert: { id: string }; step: number | null };
      hooks.push({ at: Date.now(), kind: n.kind, alertId: n.alert.id, step: n.step });
      res.writeHead(200).end('ok');
    });
  });
  const hookPort = await listen(http, () => http.address() as AddressInfo);
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, done) {
      let raw = '';
      stream.on('data', (d: Buffer) => (raw += d.toString('utf8')));
      stream.on('end', () => {
        mails.push({ at: Date.now(), subject: /^Subject: (.*)$/m.exec(raw)?.[1] ?? '', text: raw });
        done();
      });
    },
  });
  const smtpPort = await listen(smtp, () => (smtp as unknown as { server: Server }).server.address() as AddressInfo);

  // Channels and the policy through their API (admin only).
  const admin = await s.api.token('admin');
  const asAdmin = (path: string, body: unknown) => s.api.call('POST', path, { token: admin, body });
  for (const channel of [
    { name: 'hook', type: 'webhook', config: { url: `http://127.0.0.1:${hookPort}/alerts` } },
    {
      name: 'mail',
      type: 'email',
      config: { host: '127.0.0.1', port: smtpPort, from: 'sophon@example.test', to: ['oncall@example.test'] },
    },
  ]) {
    const res = await asAdmin('/api/v1/notification-channels', channel);
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const policy = await asAdmin('/api/v1/escalation-policies', {
    name: 'pager',
    steps: [
      { channels: ['hook'], waitSeconds: WAIT },
      { channels: ['mail'], waitSeconds: WAIT },
      { channels: ['hook'], waitSeconds: WAIT },
    ],
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));
});

after(async () => {
  for (const i of [0, 1, 2]) for (const pid of s ? exporterPids(i) : []) process.kill(pid, 'SIGKILL');
  await new Promise((r) => http?.close(r));
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  await s?.stop();
});

const exporterPids = (i: number) => pgrep(`node_exporter --web.listen-address=${s.fleet.hosts[i]!.address}:${PORT}`);

/** node-exporter's textfile collector reads `<data>/textfile/*.prom` at each scrape. */
async function setValue(host: number, value: number): Promise<void> {
  const dir = `${s.fleet.hosts[host]!.installRoot}/node-exporter/data/exporter/textfile`;
  await mkdir(dir, { recursive: true });
  await writeFile(
    `${dir}/.pressure.tmp`,
    `# HELP sophon_test_pressure A value the alert test sets.\n# TYPE sophon_test_pressure gauge\nsophon_test_pressure ${value}\n`,
  );
  await rename(`${dir}/.pressure.tmp`, `${dir}/pressure.prom`);
}

const schedule = () => s.api.core.temporal.schedule.getHandle(monitoringWorkflowIds.pollSchedule(s.config.temporal.taskQueue, clusterId));

/** Triggers the poll schedule and waits for its run (scrapes, then the rules' evaluation); one trigger per second. */
let lastTrigger = 0;
async function poll(): Promise<{ alerts: EvaluationCounts }> {
  await new Promise((r) => setTimeout(r, Math.max(0, lastTrigger + 1100 - Date.now())));
  lastTrigger = Date.now();
  // The schedule keeps its last 10 actions only: a new run is a new last workflow id.
  const lastRun = async () => (await schedule().describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
  const seen = await lastRun();
  await schedule().trigger();
  const workflowId = await eventually(async () => {
    const last = await lastRun();
    return last !== seen ? last : undefined;
  }, 'the schedule to start a poll');
  return s.api.core.temporal.workflow.getHandle(workflowId).result();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alertsOf = async (query: string) => {
  const res = await s.call('GET', `/api/v1/alerts?cluster=alrt&${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.alerts as Array<Record<string, any>>;
};
const pressure = async (query = '') => (await alertsOf(query)).filter((a) => a.rule === 'PressureHigh');
const RULE = {
  name: 'PressureHigh',
  expr: 'sophon_test_pressure',
  op: '>',
  threshold: 5,
  for: '2s',
  severity: 'critical',
  cluster: 'alrt',
  summary: 'Pressure is high',
  policy: 'pager',
};

test('deploying node-exporter made its default rules; the built-in rules exist', async () => {
  const rules = (await s.call('GET', '/api/v1/alert-rules')).body.rules as Array<Record<string, any>>;
  const defaults = rules.filter((r) => r.source === 'definition');
  assert.deepEqual(defaults.map((r) => r.name).sort(), ['HostHighLoad', 'HostLowDiskSpace']);
  for (const r of defaults) assert.deepEqual([r.cluster, r.service], ['alrt', 'node-exporter']);
  assert.equal(defaults.find((r) => r.name === 'HostHighLoad')!.for, '10m');
  const builtin = rules.filter((r) => r.source === 'builtin');
  assert.deepEqual(builtin.map((r) => [r.name, r.expr, r.op, r.threshold, r.severity, r.cluster]).sort(), [
    ['AutoRecoveryBudgetSpent', 'sophon_recovery_budget_spent', '>', 0, 'critical', null],
    ['InstanceDown', 'up', '==', 0, 'critical', null],
  ]);
  // A built-in rule cannot be deleted; a definition's cannot be changed.
  assert.equal((await s.call('DELETE', `/api/v1/alert-rules/${builtin[0]!.id}`)).status, 409);
  assert.equal((await s.call('PUT', `/api/v1/alert-rules/${defaults[0]!.id}`, { ...RULE, name: 'x' })).status, 409);
});

test('a rule on a textfile value fires for that host only, escalates step by step, stops on ack and resolves with a notice', async () => {
  const created = await s.call('POST', '/api/v1/alert-rules', RULE);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.rule.policy, 'pager');
  assert.equal(created.body.rule.source, 'user');

  await poll();
  assert.deepEqual(await pressure(), [], 'every host is below the threshold');
  await setValue(1, 7);
  const first = await poll();
  // The poll's result carries the evaluation's counts (of every rule: the machine may have real disk alerts).
  assert.ok(first.alerts.rules >= 5 && first.alerts.pending >= 1, JSON.stringify(first));
  const [pending] = await pressure();
  assert.equal(pending!.state, 'pending');
  assert.equal(pending!.host, 'n1');
  assert.equal(pending!.value, 7);
  assert.deepEqual(pending!.labels, {
    alertname: 'PressureHigh',
    cluster: 'alrt',
    host: 'n1',
    service: 'node-exporter',
    role: 'exporter',
    severity: 'critical',
  });

  await sleep(2000); // the rule's `for`
  await poll();
  const [firing] = await pressure();
  assert.equal(firing!.id, pending!.id, 'one alert per rule and target');
  assert.equal(firing!.state, 'firing');
  assert.equal(firing!.silenced, false);
  assert.deepEqual(
    (await pressure('state=firing')).map((a) => a.host),
    ['n1'],
  );
  // Open alerts show in the host and service views.
  assert.equal((await s.call('GET', '/api/v1/clusters/alrt/hosts/n1')).body.health.openAlerts, 1);
  assert.equal((await s.call('GET', '/api/v1/clusters/alrt/hosts/n0')).body.health.openAlerts, 0);
  assert.equal((await s.call('GET', '/api/v1/clusters/alrt/services/node-exporter')).body.service.openAlerts, 1);

  const step1 = await eventually(
    async () => hooks.find((h) => h.alertId === firing!.id && h.kind === 'firing'),
    'step 1 at the HTTP receiver',
  );
  assert.equal(step1.step, 1);
  const step2 = await eventually(async () => mails.find((m) => m.subject.includes('[FIRING] PressureHigh')), 'step 2 by mail', 30_000);
  assert.ok(step2.at - step1.at >= (WAIT - 0.5) * 1000, `step 2 came ${step2.at - step1.at} ms after step 1: after its wait`);
  assert.match(step2.text, /Host: n1/);

  const acked = await s.call('POST', `/api/v1/alerts/${firing!.id}/ack`, { note: 'looking' });
  assert.equal(acked.status, 200, JSON.stringify(acked.body));
  assert.equal(acked.body.alert.state, 'acknowledged');
  assert.match(acked.body.alert.ackedBy, /^token:/);
  assert.equal((await s.call('POST', `/api/v1/alerts/${firing!.id}/ack`, {})).status, 200, 'a second ack changes nothing');
  await sleep((WAIT + 2) * 1000);
  assert.deepEqual(
    hooks.filter((h) => h.alertId === firing!.id).map((h) => [h.kind, h.step]),
    [['firing', 1]],
    'no step 3 after the ack',
  );

  // Still true: stays acknowledged. Back below: the flap guard holds one evaluation, then resolves.
  await poll();
  await setValue(1, 2);
  await poll();
  assert.equal((await pressure())[0]!.state, 'acknowledged', 'one good evaluation does not resolve it');
  await poll();
  const resolved = (await s.call('GET', `/api/v1/alerts/${firing!.id}`)).body.alert;
  assert.equal(resolved.state, 'resolved');
  assert.equal(resolved.resolvedBy, 'sophon');
  assert.deepEqual(
    resolved.events.map((e: { from: string | null; to: string }) => [e.from, e.to]),
    [
      [null, 'pending'],
      ['pending', 'firing'],
      ['firing', 'acknowledged'],
      ['acknowledged', 'resolved'],
    ],
  );
  await eventually(
    async () => hooks.find((h) => h.alertId === firing!.id && h.kind === 'resolved'),
    'the resolved notice at the HTTP receiver',
  );
  await eventually(async () => mails.find((m) => m.subject.includes('[RESOLVED] PressureHigh')), 'the resolved notice by mail');
  const history = (await s.call('GET', `/api/v1/alerts/${firing!.id}`)).body.alert.notifications as Array<{
    channel: string;
    kind: string;
    status: string;
  }>;
  assert.deepEqual(history.map((n) => `${n.channel}:${n.kind}:${n.status}`).sort(), [
    'hook:firing:sent',
    'hook:resolved:sent',
    'mail:firing:sent',
    'mail:resolved:sent',
  ]);
  assert.equal((await s.call('POST', `/api/v1/alerts/${firing!.id}/ack`, {})).status, 409, 'a resolved alert cannot be acknowledged');
});

test('a silence or host maintenance mutes: recorded as silenced, nobody notified; unmuted it pages', async () => {
  const silence = await s.call('POST', '/api/v1/silences', {
    matchers: { alertname: 'PressureHigh', host: 'n2' },
    durationSeconds: 600,
    comment: 'planned work on n2',
  });
  assert.equal(silence.status, 201, JSON.stringify(silence.body));
  assert.equal((await s.call('PATCH', '/api/v1/clusters/alrt/hosts/n0', { maintenance: true })).status, 200);
  await setValue(2, 9);
  await setValue(0, 9);
  await poll();
  await sleep(2000);
  const counts = await poll();
  assert.ok(counts.alerts.silenced >= 2, JSON.stringify(counts));
  const muted = await pressure('state=firing');
  assert.deepEqual(muted.map((a) => [a.host, a.silenced]).sort(), [
    ['n0', true],
    ['n2', true],
  ]);
  await sleep((WAIT + 1) * 1000);
  const ids = new Set(muted.map((a) => a.id));
  assert.deepEqual(
    hooks.filter((h) => ids.has(h.alertId)),
    [],
    'nobody is notified of a muted alert',
  );
  for (const id of ids) assert.deepEqual((await s.call('GET', `/api/v1/alerts/${id}`)).body.alert.notifications, []);
  assert.deepEqual(
    (await s.call('GET', '/api/v1/silences')).body.silences.map((x: { id: string }) => x.id),
    [silence.body.silence.id],
  );

  // The silence ends: the next evaluation starts the chain of the still-firing alert on n2.
  assert.equal((await s.call('DELETE', `/api/v1/silences/${silence.body.silence.id}`)).status, 204);
  await poll();
  const n2 = muted.find((a) => a.host === 'n2')!;
  await eventually(async () => hooks.find((h) => h.alertId === n2.id && h.kind === 'firing'), 'step 1 once unmuted');
  const n2Events = (await s.call('GET', `/api/v1/alerts/${n2.id}`)).body.alert.events as Array<{ note: string | null }>;
  assert.ok(n2Events.some((e) => e.note === 'no longer muted'));
  assert.equal((await pressure('state=firing')).find((a) => a.host === 'n0')!.silenced, true, 'n0 is still in maintenance');

  // A new silence mutes a paging alert at once: step 2 (mail) never comes.
  const again = await s.call('POST', '/api/v1/silences', { matchers: { host: 'n2' }, durationSeconds: 600 });
  assert.equal(again.status, 201);
  assert.equal((await s.call('GET', `/api/v1/alerts/${n2.id}`)).body.alert.silenced, true, 'muted without waiting for a poll');
  await sleep((WAIT + 2) * 1000);
  assert.deepEqual(
    mails.filter((m) => m.subject.includes('/ n2 /')),
    [],
    'no step 2 for a silenced alert',
  );
  assert.equal((await s.call('DELETE', `/api/v1/silences/${again.body.silence.id}`)).status, 204);

  // Resolved by hand: the resolved notice goes to the channel that was paged.
  const res = await s.call('POST', `/api/v1/alerts/${n2.id}/resolve`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.alert.state, 'resolved');
  await eventually(
    async () => hooks.find((h) => h.alertId === n2.id && h.kind === 'resolved'),
    'the resolved notice of the hand-resolved alert',
  );
  assert.equal((await s.call('POST', `/api/v1/alerts/${n2.id}/resolve`)).status, 409);
  assert.equal((await s.call('PATCH', '/api/v1/clusters/alrt/hosts/n0', { maintenance: false })).status, 200);
  await setValue(0, 1);
  await setValue(2, 1);

  // Service maintenance with an end mutes every alert of the service until then.
  await s.db.pool.query(
    `UPDATE services SET maintenance_until = now() + interval '10 minutes' WHERE cluster_id = $1 AND name = 'node-exporter'`,
    [clusterId],
  );
  await setValue(1, 9);
  await poll();
  const [inMaintenance] = (await pressure()).filter((a) => a.host === 'n1' && a.state !== 'resolved');
  assert.equal(inMaintenance!.silenced, true);
  await s.db.pool.query(`UPDATE services SET maintenance_until = NULL WHERE cluster_id = $1`, [clusterId]);
  await setValue(1, 1);
  await poll();
  assert.equal(
    (await s.call('GET', `/api/v1/alerts/${inMaintenance!.id}`)).body.alert.state,
    'resolved',
    'a pending alert resolves at once',
  );
});

test('bad rules are 422s naming the field, and the column of an expression', async () => {
  const bad = async (patch: Record<string, unknown>) => {
    const res = await s.call('POST', '/api/v1/alert-rules', { ...RULE, name: `bad-${randomUUID()}`, ...patch });
    assert.equal(res.status, 422, JSON.stringify(res.body));
    assert.match(res.type, /^application\/problem\+json/);
    return res.body.errors as Array<{ path: string; message: string; column?: number }>;
  };
  assert.deepEqual(await bad({ expr: 'node_load1{host="z1"' }), [
    { path: 'expr', column: 21, message: "column 21: expected ',' or '}' before the end" },
  ]);
  assert.equal((await bad({ expr: 'sum(node_load1)' }))[0]!.column, 1);
  // Matchers are RE2, as in PromQL: a lookahead is refused at its column.
  assert.deepEqual(await bad({ expr: 'node_filesystem_avail_bytes{mountpoint=~"/(?!boot)"}' }), [
    {
      path: 'expr',
      column: 43,
      message:
        'column 43: invalid regular expression (RE2 syntax, as in PromQL: no lookarounds or backreferences): invalid or unsupported Perl syntax: `(?!`',
    },
  ]);
  assert.deepEqual(
    (await bad({ op: '=>' })).map((e) => e.path),
    ['op'],
  );
  assert.deepEqual(
    (await bad({ severity: 'urgent' })).map((e) => e.path),
    ['severity'],
  );
  assert.deepEqual(
    (await bad({ policy: 'nobody' })).map((e) => e.path),
    ['policy'],
  );
  assert.deepEqual(
    (await bad({ for: '5d' })).map((e) => e.path),
    ['for'],
  );
  assert.deepEqual(
    (await bad({ service: 'zookeeper', role: 'broker' })).map((e) => e.path),
    ['role'],
  );
  assert.deepEqual(
    (await bad({ op: '~', severity: 'x', expr: 'a +' })).map((e) => e.path),
    ['expr', 'op', 'severity'],
    'every problem at once',
  );
  // The shape itself is a 400 naming the field.
  const shape = await s.call('POST', '/api/v1/alert-rules', { ...RULE, threshold: 'high' });
  assert.equal(shape.status, 400);
  assert.equal(shape.body.errors[0].path, 'threshold');
  assert.equal((await s.call('POST', '/api/v1/alert-rules', RULE)).status, 409, 'a second rule of that name in that scope');
  assert.equal((await s.call('GET', '/api/v1/alerts/not-an-id')).status, 404);
  assert.equal((await s.call('GET', `/api/v1/alert-rules/${randomUUID()}`)).status, 404);
  const silence = await s.call('POST', '/api/v1/silences', { matchers: {}, durationSeconds: 60 });
  assert.equal(silence.status, 400);
  assert.equal(silence.body.errors[0].path, 'matchers');
  assert.equal((await s.call('POST', '/api/v1/silences', { matchers: { host: 'n1' } })).body.errors[0].path, 'endsAt');
  assert.equal((await s.call('GET', '/api/v1/alerts?state=burning')).body.errors[0].path, 'state');
});

test('rate and avg_over_time read the stored history of every host, kept from the polls after a rule reads it', async () => {
  const rules = [
    {
      ...RULE,
      name: 'IdleCpuCounts',
      expr: 'rate(node_cpu_seconds_total{mode="idle", cpu="0"}[5m])',
      // A rate exists only from two stored samples; on a busy machine CPU 0 may not idle between them.
      op: '>=',
      threshold: 0,
      for: '0s',
      policy: undefined,
    },
    {
      ...RULE,
      name: 'PressureAverage',
      expr: 'avg_over_time(sophon_test_pressure[15m])',
      op: '>=',
      threshold: 1,
      for: '0s',
      policy: undefined,
    },
  ];
  const ids: string[] = [];
  for (const r of rules) {
    const res = await s.call('POST', '/api/v1/alert-rules', r);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    ids.push(res.body.rule.id);
  }
  // A poll keeps as rows only the series rules read: node_cpu_seconds_total from the first
  // poll after its rule exists, and a rate needs two samples.
  await poll();
  await poll();
  const firing = await alertsOf('state=firing');
  for (const name of ['IdleCpuCounts', 'PressureAverage']) {
    const of = firing.filter((a) => a.rule === name);
    assert.deepEqual(of.map((a) => a.host).sort(), HOSTS, name);
    for (const a of of) assert.ok(typeof a.value === 'number' && a.value >= 0, `${name} on ${a.host}: ${a.value}`);
  }
  // Every host's average lies between the lowest (1) and the highest (9) value it exported.
  for (const a of firing.filter((x) => x.rule === 'PressureAverage')) assert.ok(a.value >= 1 && a.value <= 9, `${a.host}: ${a.value}`);
  for (const id of ids) assert.equal((await s.call('DELETE', `/api/v1/alert-rules/${id}`)).status, 204);
});

test('an instance stopped on purpose is not down; a killed one is', async () => {
  const rule = await s.call('POST', '/api/v1/alert-rules', {
    ...RULE,
    name: 'ExporterDown',
    expr: 'up{service="node-exporter"}',
    op: '==',
    threshold: 0,
    for: '0s',
    policy: undefined,
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));
  const stop = await s.call('POST', '/api/v1/clusters/alrt/services/node-exporter/actions', { action: 'stop', hosts: ['n0'] });
  assert.equal(stop.status, 202, JSON.stringify(stop.body));
  assert.equal((await s.waitFor(stop.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  const [killed] = exporterPids(2);
  process.kill(killed!, 'SIGKILL');
  // Until init reaps it, a killed process is a zombie that the status check's `kill -0` still finds.
  await eventually(async () => (existsSync(`/proc/${killed}`) ? undefined : true), 'the exporter on n2 to die and be reaped');
  await poll();
  const down = (await alertsOf('state=firing')).filter((a) => a.rule === 'ExporterDown');
  assert.deepEqual(
    down.map((a) => a.host),
    ['n2'],
    'n0 was stopped on purpose',
  );
  const start = await s.call('POST', '/api/v1/clusters/alrt/services/node-exporter/actions', { action: 'start', hosts: ['n0', 'n2'] });
  assert.equal(start.status, 202, JSON.stringify(start.body));
  assert.equal((await s.waitFor(start.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  assert.equal((await s.call('DELETE', `/api/v1/alert-rules/${rule.body.rule.id}`)).status, 204);
});

test('a rule changed and deleted: its open alert is resolved with it; removing the service drops its default rules', async () => {
  const rule = ((await s.call('GET', '/api/v1/alert-rules?cluster=alrt')).body.rules as Array<{ id: string; name: string }>).find(
    (r) => r.name === 'PressureHigh',
  )!;
  const changed = await s.call('PUT', `/api/v1/alert-rules/${rule.id}`, { ...RULE, threshold: 0.5, for: '0s', policy: undefined });
  assert.equal(changed.status, 200, JSON.stringify(changed.body));
  assert.equal(changed.body.rule.policy, null);
  await poll();
  const open = await pressure('state=firing');
  assert.deepEqual(open.map((a) => a.host).sort(), HOSTS, 'for 0s fires at once, on every host');
  assert.equal((await s.call('DELETE', `/api/v1/alert-rules/${rule.id}`)).status, 204);
  assert.deepEqual(await pressure('state=firing'), []);
  assert.equal((await s.call('GET', `/api/v1/alerts/${open[0]!.id}`)).body.alert.events.at(-1).note, 'its rule was deleted');

  const removed = await s.call('DELETE', '/api/v1/clusters/alrt/services/node-exporter');
  assert.equal(removed.status, 202, JSON.stringify(removed.body));
  assert.equal((await s.waitFor(removed.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  const left = (await s.call('GET', '/api/v1/alert-rules')).body.rules as Array<{ source: string }>;
  assert.deepEqual(
    left.map((r) => r.source),
    ['builtin', 'builtin'],
  );
});

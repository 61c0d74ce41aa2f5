/**
 * Auto-recovery on a real 3-server ZooKeeper ensemble: a server killed with SIGKILL is seen
 * down by the next poll, which starts a `service.recover` operation that restarts it; past the
 * budget (PATCH autoRecovery.maxPerHour) it stays dead and its sophon_recovery_budget_spent
 * series is 1; a recovery that finds the service locked skips, naming the holder. Then
 * Sophon's own /metrics, computed from Postgres, after these deploys, polls and recoveries.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseExposition } from '../../../src/features/monitoring/exposition.js';
import { monitoringWorkflowIds, type PollResult } from '../../../src/features/monitoring/types.js';
import { eventually } from '../../helpers/harness.js';
import { modeOf, pgrep, srvr, startStack, type Stack } from '../services/helpers.js';

let s: Stack;
let clusterId: string;
const CLIENT_PORT = 12181;
const SERVERS = ['n0', 'n1', 'n2'];
const FINAL = ['SUCCEEDED', 'FAILED', 'HOLDING', 'CANCELLED'];

before(async () => {
  // Polls run when the test triggers them, not on their own.
  s = await startStack({ hosts: 3, block: 67, cluster: 'rec', env: { SOPHON_POLL_INTERVAL_SECONDS: '3600' } });
  clusterId = (await s.call('GET', '/api/v1/clusters/rec')).body.id;
  const res = await s.call('POST', '/api/v1/clusters/rec/services', {
    service: 'zookeeper',
    placement: { server: SERVERS },
    config: { clientPort: CLIENT_PORT, adminPort: 18080, heapMb: 128 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
});
after(async () => {
  // ZooKeeper outlives the fleet's sshds: stop what this file started (the stack kills the rest under its install roots).
  for (const h of s ? SERVERS : []) for (const pid of pgrep(`${installRoot(h)}/zookeeper/conf/server`)) process.kill(pid, 'SIGKILL');
  await s?.stop();
});

const host = (h: string) => s.fleet.hosts[Number(h.slice(1))]!;
const installRoot = (h: string) => host(h).installRoot;
const mode = async (h: string) => modeOf(await srvr(host(h).address, CLIENT_PORT));
const zkPids = (h: string) => pgrep(`${installRoot(h)}/zookeeper/conf/server`);
const pidFile = (h: string) => Number(readFileSync(path.join(installRoot(h), 'zookeeper/run/server/zookeeper.pid'), 'utf8').trim());

/** SIGKILLs the server's process (its pid from the host's pid file) and waits until it is reaped. */
async function kill(h: string): Promise<number> {
  const pid = pidFile(h);
  assert.deepEqual(zkPids(h), [pid], `one ZooKeeper runs on ${h}, the one in its pid file`);
  process.kill(pid, 'SIGKILL');
  await eventually(async () => (existsSync(`/proc/${pid}`) ? undefined : true), `ZooKeeper on ${h} to die and be reaped`);
  return pid;
}

const schedule = () => s.api.core.temporal.schedule.getHandle(monitoringWorkflowIds.pollSchedule(s.config.temporal.taskQueue, clusterId));

/** Triggers the poll schedule and waits for the poll it starts (scheduled runs are named by the second: one trigger per second). */
let lastTrigger = 0;
async function poll(): Promise<PollResult> {
  await new Promise((r) => setTimeout(r, Math.max(0, lastTrigger + 1100 - Date.now())));
  lastTrigger = Date.now();
  // Temporal keeps the last 10 actions: a new poll is a new last one.
  const lastId = async () => (await schedule().describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
  const seen = await lastId();
  await schedule().trigger();
  const workflowId = await eventually(async () => {
    const id = await lastId();
    return id !== seen ? id : undefined;
  }, 'the schedule to start a poll');
  return s.api.core.temporal.workflow.getHandle(workflowId).result();
}

/**
 * Polls until the poll sees `host`'s server in `state` (on a loaded machine a status check can
 * time out, or the host check mark a host UNREACHABLE for a while: the instance is then
 * UNKNOWN, which auto-recovery rightly leaves alone); returns that poll's result.
 */
async function pollUntil(host: string, state: 'RUNNING' | 'STOPPED'): Promise<PollResult> {
  for (let i = 0; ; i++) {
    const result = await poll();
    const seen = await instanceOf(host);
    if (seen.observedState === state) return result;
    if (i >= 10) assert.fail(`10 polls did not see ${host} ${state}: ${await why(result)}`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

interface OpView {
  id: string;
  type: string;
  status: string;
  requestedBy: string;
  workflowId: string;
}
const recoveries = async (): Promise<OpView[]> =>
  ((await s.call('GET', '/api/v1/operations?cluster=rec&service=zookeeper&limit=500')).body.operations as OpView[]).filter(
    (o) => o.type === 'service.recover',
  );
const instanceOf = async (h: string) =>
  (
    (await s.call('GET', '/api/v1/clusters/rec/services/zookeeper')).body.service.instances as Array<{
      id: string;
      host: string;
      observedState: string;
    }>
  ).find((i) => i.host === h)!;
const budgetSeries = async () =>
  (await s.call('GET', '/api/v1/clusters/rec/metrics?metric=sophon_recovery_budget_spent')).body.samples as Array<{
    host: string;
    value: number;
    labels: Record<string, string>;
  }>;
/** The poll's counts with every instance's observed state and reason, for failure messages. */
const why = async (result: unknown) =>
  JSON.stringify({
    result,
    instances: (
      (await s.call('GET', '/api/v1/clusters/rec/services/zookeeper')).body.service.instances as Array<Record<string, unknown>>
    ).map((i) => [i.host, i.observedState, i.statusReason]),
  });
const patch = (body: unknown) => s.call('PATCH', '/api/v1/clusters/rec/services/zookeeper', body);

test('auto-recovery settings: on by default with 6 per hour, changed by PATCH, bad input a 400 naming the field', async () => {
  const svc = (await s.call('GET', '/api/v1/clusters/rec/services/zookeeper')).body.service;
  assert.deepEqual(svc.autoRecovery, { enabled: true, maxPerHour: 6 });
  const cases: Array<[unknown, string]> = [
    [{ autoRecovery: { maxPerHour: 0 } }, 'autoRecovery.maxPerHour'],
    [{ autoRecovery: { maxPerHour: 2.5 } }, 'autoRecovery.maxPerHour'],
    [{ autoRecovery: { maxPerHour: '2' } }, 'autoRecovery.maxPerHour'],
    [{ autoRecovery: { enabled: 'yes' } }, 'autoRecovery.enabled'],
    [{ autoRecovery: { enabled: true, budget: 3 } }, 'autoRecovery'],
    [{ autoRecovery: 6 }, 'autoRecovery'],
    [{ recovery: {} }, '(root)'],
  ];
  for (const [body, field] of cases) {
    const res = await patch(body);
    assert.equal(res.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
    assert.match(res.type, /problem\+json/);
    assert.ok(
      res.body.errors.some((e: { path: string }) => e.path === field),
      `${field} named in ${JSON.stringify(res.body.errors)}`,
    );
  }
  assert.equal((await s.call('PATCH', '/api/v1/clusters/rec/services/nosuch', { autoRecovery: { enabled: false } })).status, 404);

  const off = await patch({ autoRecovery: { enabled: false } });
  assert.equal(off.status, 200, JSON.stringify(off.body));
  assert.deepEqual(off.body.service.autoRecovery, { enabled: false, maxPerHour: 6 });
  const on = await patch({ autoRecovery: { enabled: true, maxPerHour: 3 } });
  assert.deepEqual(on.body.service.autoRecovery, { enabled: true, maxPerHour: 3 });
  assert.deepEqual((await s.call('GET', '/api/v1/clusters/rec/services/zookeeper')).body.service.autoRecovery, {
    enabled: true,
    maxPerHour: 3,
  });
});

test('a killed server: the next poll sees it down and its recover operation restarts it', async () => {
  for (const h of SERVERS) await pollUntil(h, 'RUNNING');
  const oldPid = await kill('n1');
  const result = await pollUntil('n1', 'STOPPED');
  assert.equal(result.recovery.started, 1, await why(result));
  const [op] = await recoveries();
  assert.ok(op, 'a recover operation is listed');
  const n1 = await instanceOf('n1');
  assert.equal(op.requestedBy, 'auto-recovery');
  assert.equal(op.workflowId, `recover/rec/zookeeper/${n1.id}/1`);
  const done = await s.waitFor(op.id, FINAL);
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
  assert.deepEqual(
    done.steps.map((x: { host: string; step: string; status: string }) => `${x.host}:${x.step}:${x.status}`),
    ['n1:stop:SUCCEEDED', 'n1:start:SUCCEEDED', 'n1:health:SUCCEEDED'],
  );

  const newPid = pidFile('n1');
  assert.notEqual(newPid, oldPid);
  assert.deepEqual(zkPids('n1'), [newPid]);
  const m = await eventually(async () => {
    const x = await mode('n1');
    return x === 'follower' || x === 'leader' ? x : undefined;
  }, 'n1 to serve again');
  assert.ok(['follower', 'leader'].includes(m));
  assert.equal((await instanceOf('n1')).observedState, 'RUNNING');

  const next = await pollUntil('n1', 'RUNNING');
  assert.deepEqual([next.recovery.started, next.recovery.budgetSpent], [0, 0], await why(next));
  assert.deepEqual(await budgetSeries(), []);
  assert.equal((await recoveries()).length, 1, 'no second recovery');
});

test('past the budget: no restart across polls, sophon_recovery_budget_spent is 1, InstanceDown fires; a larger budget recovers it', async () => {
  // One recovery of n1 in the last hour already: a budget of 1 is spent.
  assert.equal((await patch({ autoRecovery: { maxPerHour: 1 } })).status, 200);
  await kill('n1');
  for (let round = 0; round < 2; round++) {
    const result = await pollUntil('n1', 'STOPPED');
    assert.deepEqual(result.recovery, { started: 0, skipped: 0, inProgress: 0, budgetSpent: 1 }, await why(result));
    assert.deepEqual(zkPids('n1'), [], `ZooKeeper stays dead on n1 after poll ${round + 1}`);
    assert.equal(await mode('n1'), 'down');
    const series = await budgetSeries();
    assert.deepEqual(
      series.map((x) => [x.host, x.value, x.labels]),
      [['n1', 1, { service: 'zookeeper', role: 'server', host: 'n1' }]],
    );
    assert.equal((await recoveries()).length, 1, 'no recovery past the budget');
  }
  // The built-in rule on the budget series makes it a critical alert.
  const spent = await s.db.pool.query(
    `SELECT severity, host, service, state FROM alerts WHERE rule_name = 'AutoRecoveryBudgetSpent' AND state <> 'resolved'`,
  );
  assert.deepEqual(spent.rows, [{ severity: 'critical', host: 'n1', service: 'zookeeper', state: 'firing' }]);
  // The server stays down: the built-in InstanceDown (up == 0 for 1m) fires for it, and only for it.
  const down = async () =>
    (
      await s.db.pool.query(
        `SELECT host, service, severity, state FROM alerts WHERE rule_name = 'InstanceDown' AND state <> 'resolved' ORDER BY host`,
      )
    ).rows;
  const fired = await eventually(
    async () => {
      await poll();
      const rows = await down();
      if (rows.some((r) => r.state === 'firing')) return rows;
      await new Promise((r) => setTimeout(r, 3000));
      return undefined;
    },
    'InstanceDown to fire for n1',
    150_000,
  );
  assert.deepEqual(fired, [{ host: 'n1', service: 'zookeeper', severity: 'critical', state: 'firing' }]);
  assert.deepEqual(zkPids('n1'), [], 'still no restart past the budget');

  assert.equal((await patch({ autoRecovery: { maxPerHour: 2 } })).status, 200);
  const freed = await pollUntil('n1', 'STOPPED');
  assert.equal(freed.recovery.started, 1, await why(freed));
  assert.deepEqual(await budgetSeries(), [], 'the series goes once the budget frees up');
  const [latest] = await recoveries();
  assert.equal(latest!.workflowId, `recover/rec/zookeeper/${(await instanceOf('n1')).id}/2`);
  assert.equal((await s.waitFor(latest!.id, FINAL)).status, 'SUCCEEDED');
  await eventually(async () => (['follower', 'leader'].includes(await mode('n1')) ? true : undefined), 'n1 to serve again');
});

test('a recovery finding the service locked by another operation skips, naming it; the next poll recovers', async () => {
  // A rolling restart of n0 and n1 pauses a minute between its batches, holding the service's lock.
  const res = await s.call('POST', '/api/v1/clusters/rec/services/zookeeper/actions', {
    action: 'restart',
    hosts: ['n0', 'n1'],
    rolling: { batchSize: 1, pauseSeconds: 60 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const holder = res.body.operation.id as string;
  await eventually(
    async () => {
      const op = (await s.call('GET', `/api/v1/operations/${holder}`)).body.operation;
      assert.ok(!['FAILED', 'HOLDING'].includes(op.status), JSON.stringify(op));
      return op.steps.some((x: { step: string; status: string }) => x.step === 'health' && x.status === 'SUCCEEDED') ? true : undefined;
    },
    'the first batch of the restart to finish',
    120_000,
  );

  const before = (await recoveries()).length;
  await kill('n2');
  const result = await pollUntil('n2', 'STOPPED');
  assert.deepEqual(result.recovery, { started: 0, skipped: 1, inProgress: 0, budgetSpent: 0 }, await why(result));
  const last = (await s.db.pool.query(`SELECT recovery FROM cluster_polls WHERE cluster_id = $1`, [clusterId])).rows[0].recovery;
  assert.equal(last.skipped.length, 1);
  assert.equal(last.skipped[0].host, 'n2');
  assert.deepEqual(last.skipped[0].heldBy, { id: holder, type: 'service.restart', status: 'RUNNING' });
  assert.match(last.skipped[0].reason, new RegExp(holder));
  assert.equal((await recoveries()).length, before, 'no recover operation was recorded');

  assert.equal((await s.call('POST', `/api/v1/operations/${holder}/cancel`)).status, 202);
  assert.equal((await s.waitFor(holder, FINAL)).status, 'CANCELLED');
  const next = await pollUntil('n2', 'STOPPED');
  assert.equal(next.recovery.started, 1, await why(next));
  const [op] = await recoveries();
  assert.equal((await s.waitFor(op!.id, FINAL)).status, 'SUCCEEDED');
  await eventually(async () => (['follower', 'leader'].includes(await mode('n2')) ? true : undefined), 'n2 to serve again');
});

test("/metrics: Sophon's state from Postgres after these deploys, polls and recoveries; the dashboard uses only these series", async () => {
  const scrape = async () => {
    const res = await s.api.call('GET', '/metrics');
    assert.equal(res.status, 200);
    return parseExposition(res.body as string);
  };
  // The poll first: alert evaluation (with the alerting feature) would resolve the rule-less alerts inserted below.
  const polled = await poll();
  // What other features recorded before (built-in alerts on the kills above, say), to count ours on top.
  const baseline = await scrape();
  const before = (metric: string, labels: Record<string, string>) =>
    baseline.find((x) => x.metric === metric && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value ?? 0;
  // Alerts and notifications as the alerting and notify features record them.
  await s.db.pool.query(
    `INSERT INTO alerts (id, rule_name, fingerprint, state, severity, cluster_id, labels)
     VALUES (gen_random_uuid(), 'T1', 'f1', 'firing', 'critical', $1, '{}'), (gen_random_uuid(), 'T2', 'f2', 'acknowledged', 'warning', $1, '{}'),
            (gen_random_uuid(), 'T3', 'f3', 'resolved', 'critical', $1, '{}')`,
    [clusterId],
  );
  await s.db.pool.query(
    `INSERT INTO alert_notifications (channel_name, channel_type, kind, status)
     VALUES ('ops', 'webhook', 'firing', 'sent'), ('ops', 'webhook', 'resolved', 'sent'), ('ops', 'webhook', 'firing', 'failed'), ('mail', 'email', 'firing', 'sent')`,
  );
  const samples = await scrape();
  const value = (metric: string, labels: Record<string, string>) => {
    const found = samples.filter((x) => x.metric === metric && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    assert.equal(found.length, 1, `one ${metric}${JSON.stringify(labels)} in /metrics, found ${found.length}`);
    return found[0]!.value;
  };
  const family = (metric: string) => samples.filter((x) => x.metric === metric);

  assert.equal(value('sophon_hosts', { cluster: 'rec', status: 'READY' }), 3);
  const svc = (await s.call('GET', '/api/v1/clusters/rec/services/zookeeper')).body.service;
  assert.deepEqual(
    Object.fromEntries(
      family('sophon_role_instances').map((x) => [`${x.labels.cluster}/${x.labels.service}/${x.labels.observed_state}`, x.value]),
    ),
    Object.fromEntries(Object.entries(svc.health as Record<string, number>).map(([state, n]) => [`rec/zookeeper/${state}`, n])),
  );
  assert.equal(
    Object.values(svc.health as Record<string, number>).reduce((a, b) => a + b, 0),
    3,
  );
  const added = (metric: string, labels: Record<string, string>) => value(metric, labels) - before(metric, labels);
  assert.equal(added('sophon_alerts_open', { severity: 'critical', state: 'firing' }), 1);
  assert.equal(added('sophon_alerts_open', { severity: 'warning', state: 'acknowledged' }), 1);
  assert.ok(!family('sophon_alerts_open').some((x) => x.labels.state === 'resolved'), 'resolved alerts are not open');
  assert.equal(added('sophon_notifications_total', { channel_type: 'webhook', status: 'sent' }), 2);
  assert.equal(added('sophon_notifications_total', { channel_type: 'webhook', status: 'failed' }), 1);
  assert.equal(added('sophon_notifications_total', { channel_type: 'email', status: 'sent' }), 1);

  // Operations by type and status: the same counts as the operations list.
  const ops = (await s.call('GET', '/api/v1/operations?limit=1000')).body.operations as OpView[];
  const expected = new Map<string, number>();
  for (const o of ops) expected.set(`${o.type} ${o.status}`, (expected.get(`${o.type} ${o.status}`) ?? 0) + 1);
  assert.deepEqual(new Map(family('sophon_operations').map((x) => [`${x.labels.type} ${x.labels.status}`, x.value])), expected);
  assert.equal(value('sophon_operations', { type: 'service.recover', status: 'SUCCEEDED' }), 3, 'three recoveries succeeded in this file');
  // Durations of finished operations: cumulative buckets ending at the count, a positive sum.
  for (const [key, n] of expected) {
    const [type, status] = key.split(' ') as [string, string];
    if (!['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK'].includes(status)) continue;
    const buckets = family('sophon_operation_duration_seconds_bucket').filter((x) => x.labels.type === type && x.labels.status === status);
    const counts = buckets.map((x) => x.value);
    assert.deepEqual(
      [...counts].sort((a, b) => a - b),
      counts,
      `${key}: buckets are cumulative`,
    );
    assert.equal(buckets.find((x) => x.labels.le === '+Inf')?.value, n, `${key}: +Inf bucket`);
    assert.equal(value('sophon_operation_duration_seconds_count', { type, status }), n);
    assert.ok(value('sophon_operation_duration_seconds_sum', { type, status }) > 0, `${key}: sum`);
  }
  const deploy = family('sophon_operation_duration_seconds_bucket').filter((x) => x.labels.type === 'service.deploy');
  assert.equal(deploy.find((x) => x.labels.le === '1')?.value, 0, 'a ZooKeeper deploy takes more than a second');

  // The last poll of the cluster.
  assert.equal(value('sophon_poll_targets', { cluster: 'rec' }), polled.targets);
  assert.equal(value('sophon_poll_targets_down', { cluster: 'rec' }), polled.down);
  const duration = value('sophon_poll_duration_seconds', { cluster: 'rec' });
  assert.ok(duration > 0 && duration < 120, `poll duration ${duration}`);
  assert.ok(Math.abs(Date.now() / 1000 - value('sophon_poll_last_finished_timestamp_seconds', { cluster: 'rec' })) < 60);

  // Every series the dashboard queries is served.
  const dashboard = JSON.parse(readFileSync('deploy/grafana/sophon-dashboard.json', 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
  };
  const used = new Set(dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((t) => t.expr.match(/\bsophon_[a-z_]+/g) ?? []));
  assert.ok(used.size >= 10, `the dashboard uses ${used.size} series`);
  const served = new Set(samples.map((x) => x.metric));
  for (const m of used) assert.ok(served.has(m), `${m} (used by the dashboard) is served by /metrics`);
  assert.match(readFileSync('deploy/prometheus/prometheus.yml', 'utf8'), /metrics_path: \/metrics/);
});

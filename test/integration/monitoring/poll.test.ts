/**
 * Polling on a real fleet: node-exporter deployed on three hosts is status-checked over SSH and
 * scraped by the cluster's poll schedule; a killed exporter shows as STOPPED with `up` 0.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import { monitoringWorkflowIds, type PollResult } from '../../../src/features/monitoring/types.js';
import { eventually, startTestApi } from '../../helpers/harness.js';
import { pgrep, startStack, type Stack } from '../services/helpers.js';

let s: Stack;
let clusterId: string;
const PORT = 19110;
const HOSTS = ['n0', 'n1', 'n2'];

before(async () => {
  // The poll runs when the test triggers it, not on its own.
  s = await startStack({ hosts: 3, block: 57, cluster: 'mon', env: { SOPHON_POLL_INTERVAL_SECONDS: '3600' } });
  clusterId = (await s.call('GET', '/api/v1/clusters/mon')).body.id;
  assert.deepEqual([0, 1, 2].flatMap(exporterPids), [], 'no exporter left over on the fleet addresses');
  const res = await s.call('POST', '/api/v1/clusters/mon/services', {
    service: 'node-exporter',
    placement: { exporter: HOSTS },
    config: { port: PORT },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal((await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  // This file watches what polls see; a killed exporter stays down (auto-recovery has its own test).
  assert.equal((await s.call('PATCH', '/api/v1/clusters/mon/services/node-exporter', { autoRecovery: { enabled: false } })).status, 200);
});
after(async () => {
  // Exporters outlive the fleet's sshds: a leftover would answer the next run's scrapes.
  for (const i of [0, 1, 2]) for (const pid of s ? exporterPids(i) : []) process.kill(pid, 'SIGKILL');
  await s?.stop();
});

const schedule = () => s.api.core.temporal.schedule.getHandle(monitoringWorkflowIds.pollSchedule(s.config.temporal.taskQueue, clusterId));

/**
 * Triggers the cluster's poll schedule and waits for the poll it starts; returns its workflow id
 * and result. Scheduled runs are named by the second they start in: one trigger per second.
 */
let lastTrigger = 0;
async function poll(): Promise<{ workflowId: string; result: PollResult }> {
  await new Promise((r) => setTimeout(r, Math.max(0, lastTrigger + 1100 - Date.now())));
  lastTrigger = Date.now();
  const seen = (await schedule().describe()).info.recentActions.length;
  await schedule().trigger();
  const workflowId = await eventually(async () => {
    const actions = (await schedule().describe()).info.recentActions;
    return actions.length > seen ? actions.at(-1)!.action.workflow.workflowId : undefined;
  }, 'the schedule to start a poll');
  return { workflowId, result: await s.api.core.temporal.workflow.getHandle(workflowId).result() };
}

const samples = async (query: string) => {
  const res = await s.call('GET', `/api/v1/clusters/mon/metrics?${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.samples as Array<{
    metric: string;
    labels: Record<string, string>;
    value: number | string;
    host: string;
    service: string;
    role: string;
    at: string;
  }>;
};
const byHost = <T extends { host: string }>(rows: T[]) => Object.fromEntries(rows.map((r) => [r.host, r]));
const exporterPids = (i: number) => pgrep(`node_exporter --web.listen-address=${s.fleet.hosts[i]!.address}:${PORT}`);

test('creating the cluster made its poll schedule: the configured interval, overlap SKIP', async () => {
  const d = await schedule().describe();
  assert.equal(d.policies.overlap, ScheduleOverlapPolicy.SKIP);
  assert.deepEqual(
    (d.spec.intervals ?? []).map((i) => i.every),
    [3600_000],
  );
  assert.equal(d.action.type, 'startWorkflow');
  assert.equal(d.action.type === 'startWorkflow' && d.action.workflowType, 'pollClusterWorkflow');
});

test('a poll scrapes node-exporter on every host: one node_load1 per host, up 1, instances RUNNING', async () => {
  // A history row older than the retention is pruned by the next poll.
  await s.db.pool.query(
    `INSERT INTO metric_samples (cluster_id, host, service, role, metric, labels, value, at)
     VALUES ($1, 'n0', 'node-exporter', 'exporter', 'node_load1', '{}', 1, now() - interval '1 hour')`,
    [clusterId],
  );
  const { workflowId, result } = await poll();
  assert.equal(result.targets, 3);
  assert.equal(result.up, 3);
  assert.equal(result.scrapes, 3);
  assert.equal(result.scrapeFailures, 0);
  assert.ok(result.samples > 3 * 50, `node-exporter gives many series (${result.samples})`);

  const load = await samples('metric=node_load1');
  assert.deepEqual(load.map((x) => x.host).sort(), HOSTS);
  for (const x of load) {
    assert.equal(x.service, 'node-exporter');
    assert.equal(x.role, 'exporter');
    assert.equal(typeof x.value, 'number');
    assert.deepEqual(x.labels, {});
  }
  const up = byHost(await samples('metric=up'));
  assert.deepEqual(Object.keys(up).sort(), HOSTS);
  for (const h of HOSTS) {
    assert.equal(up[h]!.value, 1);
    assert.deepEqual(up[h]!.labels, { service: 'node-exporter', role: 'exporter', host: h });
  }
  // Filters combine; histogram buckets keep their labels.
  const n1 = await samples('host=n1&service=node-exporter&limit=1000');
  assert.ok(n1.length > 50 && n1.every((x) => x.host === 'n1'));
  assert.ok(
    n1.some((x) => x.metric.endsWith('_bucket') || x.labels.quantile !== undefined),
    'histogram or summary series are kept',
  );

  const svc = (await s.call('GET', '/api/v1/clusters/mon/services/node-exporter')).body.service;
  assert.deepEqual(
    svc.instances.map((i: { observedState: string }) => i.observedState),
    ['RUNNING', 'RUNNING', 'RUNNING'],
  );
  assert.deepEqual(svc.health, { RUNNING: 3 });
  for (const i of svc.instances) assert.ok(i.observedAt, 'observedAt is set');
  const host = (await s.call('GET', '/api/v1/clusters/mon/hosts/n2')).body;
  assert.equal(host.health.up, 1);
  assert.equal(host.health.down, 0);
  assert.ok(host.health.lastScrapeAt);

  const history = await s.db.pool.query(
    `SELECT count(*) FILTER (WHERE at < now() - interval '30 minutes')::int AS old, array_agg(DISTINCT metric ORDER BY metric) AS metrics FROM metric_samples WHERE cluster_id = $1`,
    [clusterId],
  );
  assert.equal(history.rows[0].old, 0, 'history older than the retention is pruned');
  // Rows and history only for what the definition's default rules read, and `up`; every
  // target's scrape is kept whole, one row each.
  assert.deepEqual(history.rows[0].metrics, ['node_filesystem_avail_bytes', 'node_filesystem_size_bytes', 'node_load5', 'up']);
  const stored = await s.db.pool.query(`SELECT host FROM metric_scrapes WHERE cluster_id = $1 ORDER BY host`, [clusterId]);
  assert.deepEqual(
    stored.rows.map((r) => r.host),
    HOSTS,
  );

  // The history carries chunk numbers and counts, never targets or samples.
  const events = (await s.api.core.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  const activities = events.filter((e) => e.activityTaskScheduledEventAttributes);
  assert.equal(
    activities.length,
    4,
    'one plan, one chunk for three targets, the finish (auto-recovery, the poll record), one evaluation of the alert rules',
  );
  assert.ok(events.length <= 30, `${events.length} events`);
  const text = JSON.stringify(events, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
  assert.ok(!text.includes('node_load1') && !text.includes(s.fleet.hosts[0]!.address), 'no samples or addresses in the history');
});

test('a stored scrape that does not parse: the API names its target once and still answers the rest', async () => {
  const { rows } = await s.db.pool.query<{ body: string }>(`SELECT body FROM metric_scrapes WHERE cluster_id = $1 AND host = 'n1'`, [
    clusterId,
  ]);
  try {
    await s.db.pool.query(`UPDATE metric_scrapes SET body = body || E'\\nbroken{line 1\\n' WHERE cluster_id = $1 AND host = 'n1'`, [
      clusterId,
    ]);
    const res = await s.call('GET', '/api/v1/clusters/mon/metrics?limit=1000&host=n1');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.unparsed.map((u: { host: string }) => u.host),
      ['n1'],
    );
    assert.match(res.body.unparsed[0].error, /does not parse/);
    assert.deepEqual(
      res.body.samples.map((x: { metric: string }) => x.metric),
      ['up'],
      "n1's own series remain",
    );
    // A metric filter parses only that metric's lines: n1's node_load1 still reads.
    assert.deepEqual(
      (await samples('metric=node_load1')).map((x) => x.host),
      HOSTS,
    );

    // A page that ends with n0 reaches n1 only for its look-ahead: n1 is named by the next page, once.
    const n0 = (await samples('host=n0&limit=1000')).length;
    const first = await s.call('GET', `/api/v1/clusters/mon/metrics?limit=${n0}`);
    assert.deepEqual(first.body.unparsed, []);
    assert.ok(first.body.samples.every((x: { host: string }) => x.host === 'n0'));
    const second = await s.call('GET', `/api/v1/clusters/mon/metrics?limit=1000&cursor=${first.body.nextCursor}`);
    assert.deepEqual(
      second.body.unparsed.map((u: { host: string }) => u.host),
      ['n1'],
    );
    assert.equal(second.body.samples[0].host, 'n1');
  } finally {
    await s.db.pool.query(`UPDATE metric_scrapes SET body = $2 WHERE cluster_id = $1 AND host = 'n1'`, [clusterId, rows[0]!.body]);
  }
  assert.deepEqual((await s.call('GET', '/api/v1/clusters/mon/metrics?host=n1')).body.unparsed, []);
});

test('a killed exporter: STOPPED, up 0, its series dropped; the others unchanged', async () => {
  const pids = exporterPids(1);
  assert.equal(pids.length, 1);
  process.kill(pids[0]!, 'SIGKILL');
  // Until its parent (init here) reaps it, a killed process is a zombie that `kill -0` still finds.
  await eventually(async () => (existsSync(`/proc/${pids[0]}`) ? undefined : true), 'the exporter on n1 to die and be reaped');

  const { result } = await poll();
  assert.equal(result.up, 2);
  assert.equal(result.down, 1);
  assert.equal(result.scrapeFailures, 1);
  const up = byHost(await samples('metric=up'));
  assert.equal(up.n0!.value, 1);
  assert.equal(up.n1!.value, 0);
  assert.equal(up.n2!.value, 1);
  assert.deepEqual((await samples('metric=node_load1')).map((x) => x.host).sort(), ['n0', 'n2']);
  const svc = (await s.call('GET', '/api/v1/clusters/mon/services/node-exporter')).body.service;
  const n1 = svc.instances.find((i: { host: string }) => i.host === 'n1');
  assert.equal(n1.observedState, 'STOPPED');
  assert.match(n1.statusReason, /status command exited/);
  assert.deepEqual(svc.health, { RUNNING: 2, STOPPED: 1 });
  assert.equal((await s.call('GET', '/api/v1/clusters/mon/hosts/n1')).body.health.down, 1);
});

test('pages of samples follow the cursor', async () => {
  const first = await s.call('GET', '/api/v1/clusters/mon/metrics?metric=up&limit=2');
  assert.equal(first.body.samples.length, 2);
  assert.ok(first.body.nextCursor);
  const second = await s.call('GET', `/api/v1/clusters/mon/metrics?metric=up&limit=2&cursor=${first.body.nextCursor}`);
  assert.equal(second.body.samples.length, 1);
  assert.equal(second.body.nextCursor, null);
  assert.deepEqual(
    [...first.body.samples, ...second.body.samples].map((x: { host: string }) => x.host),
    HOSTS,
  );

  // Unfiltered pages cut through targets: together they hold every series once.
  const all: Array<{ host: string; metric: string; labels: Record<string, string> }> = [];
  let cursor: string | null = null;
  do {
    const res = await s.call('GET', `/api/v1/clusters/mon/metrics?limit=150${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    all.push(...res.body.samples);
    cursor = res.body.nextCursor;
  } while (cursor);
  const keys = all.map((x) => `${x.host} ${x.metric} ${JSON.stringify(Object.entries(x.labels).sort())}`);
  assert.equal(new Set(keys).size, keys.length, 'no series twice');
  for (const h of HOSTS) assert.equal(all.filter((x) => x.host === h).length, (await samples(`host=${h}&limit=1000`)).length, h);
  assert.ok(all.length > 300, `${all.length} series`);
});

test('the history is kept as long as the longest window a rule of the cluster reads', async () => {
  const rule = await s.call('POST', '/api/v1/alert-rules', {
    name: 'LoadOverTwoHours',
    expr: 'avg_over_time(node_load5[2h])',
    op: '>',
    threshold: 1000,
    for: '0s',
    severity: 'info',
    cluster: 'mon',
    summary: 'Load has been high for two hours',
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));
  const old = async () =>
    (
      await s.db.pool.query(`SELECT count(*)::int AS n FROM metric_samples WHERE cluster_id = $1 AND at < now() - interval '30 minutes'`, [
        clusterId,
      ])
    ).rows[0].n;
  try {
    await s.db.pool.query(
      `INSERT INTO metric_samples (cluster_id, host, service, role, metric, labels, value, at)
       VALUES ($1, 'n0', 'node-exporter', 'exporter', 'node_load5', '{}', 1, now() - interval '1 hour')`,
      [clusterId],
    );
    await poll();
    assert.equal(await old(), 1, 'an hour-old sample stays while a rule reads two hours');
  } finally {
    assert.equal((await s.call('DELETE', `/api/v1/alert-rules/${rule.body.rule.id}`)).status, 204);
  }
  await poll();
  assert.equal(await old(), 0, 'pruned once no rule reads that far back');
});

test('bad query input is a 400 naming the field; an unknown cluster a 404', async () => {
  for (const [query, field] of [
    ['metric=1bad', 'metric'],
    ['metric=a%20b', 'metric'],
    ['limit=0', 'limit'],
    ['cursor=nonsense', 'cursor'],
    // A cursor of the order before (metric first) is refused, not misread.
    [`cursor=${Buffer.from(JSON.stringify(['up', 'n0', 'node-exporter', 'exporter', {}])).toString('base64url')}`, 'cursor'],
    ['host=', 'host'],
  ] as const) {
    const res = await s.call('GET', `/api/v1/clusters/mon/metrics?${query}`);
    assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.errors[0].path, field, query);
  }
  assert.equal((await s.call('GET', '/api/v1/clusters/nope/metrics')).status, 404);
});

test('an API start brings the poll schedule to its interval, and recreates it when missing', async () => {
  const slower = await startTestApi({ ...s.config, monitoring: { ...s.config.monitoring, pollIntervalSeconds: 1800 } }, s.db);
  await slower.close();
  assert.deepEqual(
    ((await schedule().describe()).spec.intervals ?? []).map((i) => i.every),
    [1800_000],
  );
  await schedule().delete();
  const api = await startTestApi(s.config, s.db);
  try {
    const d = await schedule().describe();
    assert.equal(d.action.type === 'startWorkflow' && d.action.workflowType, 'pollClusterWorkflow');
    assert.deepEqual(
      (d.spec.intervals ?? []).map((i) => i.every),
      [3600_000],
    );
  } finally {
    await api.close();
  }
});

test('the history holds chunks, not targets: 453 instances take three chunk activities', async () => {
  // 450 instances of the test-only sleeper on hosts that are not READY: polled without SSH.
  const { rows } = await s.db.pool.query<{ id: string }>(
    `INSERT INTO services (id, cluster_id, name, target_version, status) VALUES (gen_random_uuid(), $1, 'sleeper', '1.5.0', 'ACTIVE') RETURNING id`,
    [clusterId],
  );
  const serviceId = rows[0]!.id;
  await s.db.pool.query(`INSERT INTO config_versions (service_id, version, "values", author) VALUES ($1, 1, '{}', 'test')`, [serviceId]);
  await s.db.pool.query(
    `WITH fake AS (
       INSERT INTO hosts (id, cluster_id, hostname, address, port, credential_id, install_root, status)
       SELECT gen_random_uuid(), cluster_id, 'fake' || g, address, port, credential_id, install_root, 'FAILED'
       FROM hosts, generate_series(1, 450) g WHERE cluster_id = $1 AND hostname = 'n0' RETURNING id, hostname)
     INSERT INTO role_instances (id, cluster_id, service, service_id, role, idx, host_id, version, config_version)
     SELECT gen_random_uuid(), $1, 'sleeper', $2, 'worker', row_number() OVER (ORDER BY hostname) - 1, id, '1.5.0', 1 FROM fake`,
    [clusterId, serviceId],
  );
  try {
    const { workflowId, result } = await poll();
    assert.equal(result.targets, 453);
    assert.equal(result.up, 2);
    assert.equal(result.down, 451);
    const events = (await s.api.core.temporal.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    assert.equal(
      events.filter((e) => e.activityTaskScheduledEventAttributes).length,
      6,
      'one plan, three chunks, the finish and one evaluation',
    );
    assert.ok(events.length <= 41, `${events.length} events`);
    const sleepers = await s.db.pool.query(
      `SELECT observed_state, count(*)::int AS n FROM role_instances WHERE service_id = $1 GROUP BY 1`,
      [serviceId],
    );
    assert.deepEqual(sleepers.rows, [{ observed_state: 'UNKNOWN', n: 450 }], 'every chunk recorded its instances');
    const fake = (await s.call('GET', '/api/v1/clusters/mon/hosts/fake7')).body;
    assert.deepEqual([fake.health.up, fake.health.down], [0, 1]);

    // Postgres refuses the chunk holding fake7 (a trigger): it fails twice, and the poll goes
    // on without it, counts it and still evaluates the rules.
    await s.db.pool.query(`CREATE FUNCTION refuse_fake7() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.status_reason LIKE 'host fake7 %' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
    await s.db.pool.query(`CREATE TRIGGER refuse_fake7 BEFORE UPDATE ON role_instances FOR EACH ROW EXECUTE FUNCTION refuse_fake7()`);
    try {
      const failed = (await poll()).result as PollResult & { alerts: { rules: number } };
      assert.equal(failed.chunkFailures, 1);
      assert.ok(failed.targets === 253 || failed.targets === 400, `the other chunks were polled: ${failed.targets} targets`);
      assert.ok(failed.alerts.rules > 0, 'the rules were evaluated');
      const metrics = await s.api.call('GET', '/metrics');
      assert.match(metrics.body as string, /^sophon_poll_chunk_failures\{cluster="mon"\} 1$/m);
    } finally {
      await s.db.pool.query(`DROP TRIGGER refuse_fake7 ON role_instances`);
      await s.db.pool.query(`DROP FUNCTION refuse_fake7()`);
    }
    assert.equal((await poll()).result.chunkFailures, 0);
  } finally {
    await s.db.pool.query(`DELETE FROM role_instances WHERE service_id = $1`, [serviceId]);
    await s.db.pool.query(`DELETE FROM services WHERE id = $1`, [serviceId]);
    await s.db.pool.query(`DELETE FROM hosts WHERE cluster_id = $1 AND hostname LIKE 'fake%'`, [clusterId]);
  }
});

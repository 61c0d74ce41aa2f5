/**
 * A maintenance window mutes the alerts of what it restarts: a windowed restart schedule
 * restarts node-exporter on three real hosts; while its window is open one exporter is killed
 * with SIGKILL, and the `up == 0` alert is recorded, silenced, and pages nobody (a real HTTP
 * receiver behind the default escalation policy). Ending the maintenance by hand, the next poll
 * pages the receiver: the control that shows the mute is what kept it quiet.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { monitoringWorkflowIds } from '../../../src/features/monitoring/types.js';
import { eventually } from '../../helpers/harness.js';
import { pgrep, startStack, type Stack } from '../services/helpers.js';

let s: Stack;
let clusterId: string;
const PORT = 19674;
const HOSTS = ['n0', 'n1', 'n2'];
const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'HOLDING'];
/** The policy's first step waits this long before the next: the test waits past it. */
const WAIT = 3;

const hooks: Array<{ kind: string; alertId: string; step: number | null }> = [];
let http: Server;

before(async () => {
  s = await startStack({ hosts: 3, block: 74, cluster: 'mwin', env: { SOPHON_POLL_INTERVAL_SECONDS: '3600' } });
  clusterId = (await s.call('GET', '/api/v1/clusters/mwin')).body.id;
  assert.deepEqual([0, 1, 2].flatMap(exporterPids), [], 'no exporter left over on the fleet addresses');
  const res = await s.call('POST', '/api/v1/clusters/mwin/services', {
    service: 'node-exporter',
    placement: { exporter: HOSTS },
    config: { port: PORT },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal((await s.waitFor(res.body.operation.id, FINAL)).status, 'SUCCEEDED');
  // Killed exporters stay down for the alert to see: no auto-recovery in between.
  assert.equal((await s.call('PATCH', '/api/v1/clusters/mwin/services/node-exporter', { autoRecovery: { enabled: false } })).status, 200);

  http = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const n = JSON.parse(body) as { kind: string; alert: { id: string }; step: number | null };
      hooks.push({ kind: n.kind, alertId: n.alert.id, step: n.step });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const hookPort = (http.address() as AddressInfo).port;

  const admin = await s.api.token('admin');
  const channel = await s.api.call('POST', '/api/v1/notification-channels', {
    token: admin,
    body: { name: 'hook', type: 'webhook', config: { url: `http://127.0.0.1:${hookPort}/alerts` } },
  });
  assert.equal(channel.status, 201, JSON.stringify(channel.body));
  const policy = await s.api.call('POST', '/api/v1/escalation-policies', {
    token: admin,
    body: { name: 'pager', default: true, steps: [{ channels: ['hook'], waitSeconds: WAIT }] },
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));
});

after(async () => {
  for (const i of [0, 1, 2]) for (const pid of s ? exporterPids(i) : []) process.kill(pid, 'SIGKILL');
  await new Promise((r) => http?.close(r));
  await s?.stop();
});

const exporterPids = (i: number) => pgrep(`node_exporter --web.listen-address=${s.fleet.hosts[i]!.address}:${PORT}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const service = async () => (await s.call('GET', '/api/v1/clusters/mwin/services/node-exporter')).body.service;
const alert = async (id: string) => (await s.call('GET', `/api/v1/alerts/${id}`)).body.alert;
const pollSchedule = () =>
  s.api.core.temporal.schedule.getHandle(monitoringWorkflowIds.pollSchedule(s.config.temporal.taskQueue, clusterId));

/** Triggers the poll schedule and waits for its run (scrapes, then the rules' evaluation); one trigger per second. */
let lastTrigger = 0;
async function poll(): Promise<void> {
  await sleep(Math.max(0, lastTrigger + 1100 - Date.now()));
  lastTrigger = Date.now();
  const lastRun = async () => (await pollSchedule().describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
  const seen = await lastRun();
  await pollSchedule().trigger();
  const workflowId = await eventually(async () => {
    const last = await lastRun();
    return last !== seen ? last : undefined;
  }, 'the schedule to start a poll');
  await s.api.core.temporal.workflow.getHandle(workflowId).result();
}

/** SIGKILLs n1's exporter and waits until init has reaped it (a zombie still answers `kill -0`). */
async function killN1(): Promise<void> {
  const [pid] = exporterPids(1);
  assert.ok(pid, "n1's exporter runs");
  process.kill(pid, 'SIGKILL');
  await eventually(async () => (existsSync(`/proc/${pid}`) ? undefined : true), 'the exporter on n1 to die and be reaped');
}

test('killing the instance a windowed restart restarted notifies nobody while the window is open; ended by hand, it pages', async () => {
  const rule = await s.call('POST', '/api/v1/alert-rules', {
    name: 'ExporterDownNow',
    expr: 'up',
    op: '==',
    threshold: 0,
    for: '0s',
    severity: 'critical',
    cluster: 'mwin',
    service: 'node-exporter',
    summary: 'An exporter is down',
  });
  assert.equal(rule.status, 201, JSON.stringify(rule.body));
  const ours = async () =>
    ((await s.call('GET', '/api/v1/alerts?cluster=mwin')).body.alerts as Array<Record<string, any>>).filter(
      (a) => a.rule === 'ExporterDownNow' && a.state !== 'resolved',
    );
  await poll();
  assert.deepEqual(await ours(), [], 'every exporter is up before the window');

  const pidsBefore = [0, 1, 2].map((i) => exporterPids(i)[0]);
  const created = await s.call('POST', '/api/v1/maintenance-schedules', {
    cluster: 'mwin',
    name: 'restart-exporters',
    spec: { everySeconds: 3600 },
    paused: true,
    window: { durationSeconds: 60 },
    action: { kind: 'restart', service: 'node-exporter' },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.schedule.id;
  assert.equal((await s.call('POST', `/api/v1/maintenance-schedules/${id}/trigger`)).status, 202);
  const run = await eventually(
    async () => (await s.call('GET', `/api/v1/maintenance-schedules/${id}`)).body.schedule.recentRuns[0],
    'the run',
    60_000,
  );
  assert.ok(run.operationId, JSON.stringify(run));
  const op = await s.waitFor(run.operationId, FINAL);
  assert.deepEqual([op.type, op.status], ['service.restart', 'SUCCEEDED'], JSON.stringify(op));
  const pidsAfter = [0, 1, 2].map((i) => exporterPids(i)[0]);
  for (const i of [0, 1, 2])
    assert.ok(
      pidsAfter[i] && pidsAfter[i] !== pidsBefore[i],
      `the run restarted ${HOSTS[i]}'s exporter: ${pidsBefore[i]} → ${pidsAfter[i]}`,
    );

  // The window: open from the run's start until 60 s after its operation ended.
  await eventually(
    async () => {
      const v = await service();
      return v.maintenanceUntil && Date.parse(v.maintenanceUntil) >= Date.parse(op.finishedAt) + 55_000 ? v : undefined;
    },
    'the window to run 60 s past the restart',
    30_000,
  );
  assert.equal((await service()).maintenance, true);

  await killN1();
  await poll();
  const [muted, ...others] = await ours();
  assert.deepEqual(others, [], 'only n1 is down');
  assert.equal(muted!.host, 'n1');
  assert.ok(['firing', 'pending'].includes(muted!.state), muted!.state);
  assert.equal(muted!.silenced, true, 'recorded as silenced');
  await sleep((WAIT + 3) * 1000);
  assert.deepEqual([...hooks], [], 'nobody is notified during the window');
  assert.deepEqual((await alert(muted!.id)).notifications, []);
  const stillOpen = await service();
  assert.ok(
    Date.parse(stillOpen.maintenanceUntil) > Date.now(),
    `all of this happened inside the window (until ${stillOpen.maintenanceUntil})`,
  );

  // Control: the maintenance ended by hand, the same down exporter pages at the next poll.
  const ended = await s.call('PATCH', '/api/v1/clusters/mwin/services/node-exporter', { maintenance: null });
  assert.equal(ended.status, 200, JSON.stringify(ended.body));
  assert.deepEqual([ended.body.service.maintenance, ended.body.service.maintenanceUntil], [false, null]);
  if (exporterPids(1).length > 0) await killN1();
  await poll();
  const paged = await eventually(
    async () => hooks.find((h) => h.alertId === muted!.id && h.kind === 'firing'),
    'the firing notice once the maintenance ended',
    30_000,
  );
  assert.equal(paged.step, 1);
  const unmuted = await alert(muted!.id);
  assert.deepEqual([unmuted.state, unmuted.silenced], ['firing', false]);
  assert.deepEqual(
    unmuted.notifications.map((n: { channel: string; kind: string; status: string }) => `${n.channel}:${n.kind}:${n.status}`),
    ['hook:firing:sent'],
  );

  assert.equal((await s.call('DELETE', `/api/v1/maintenance-schedules/${id}`)).status, 204);
  const start = await s.call('POST', '/api/v1/clusters/mwin/services/node-exporter/actions', { action: 'start', hosts: ['n1'] });
  assert.equal(start.status, 202, JSON.stringify(start.body));
  assert.equal((await s.waitFor(start.body.operation.id, FINAL)).status, 'SUCCEEDED');
});

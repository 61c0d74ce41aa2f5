/**
 * Service tasks and maintenance schedules on a real ZooKeeper ensemble (real sshd fleet, real
 * Temporal Schedules): tasks with per-host output, a schedule that fires every few seconds,
 * pause / resume / trigger / delete, a run skipped because the service is busy, a windowed run
 * that puts the service in maintenance and ends it, maintenance set by hand, and bad schedules
 * refused with the field path.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ScheduleNotFoundError } from '@temporalio/client';
import { eventually } from '../../helpers/harness.js';
import { startStack, type Stack } from '../services/helpers.js';

let s: Stack;
const CLIENT_PORT = 13181;
const SERVERS = ['n0', 'n1', 'n2'];
const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'HOLDING'];

before(async () => {
  s = await startStack({ hosts: 4, block: 69, cluster: 'mz' });
  const res = await s.call('POST', '/api/v1/clusters/mz/services', {
    service: 'zookeeper',
    placement: { server: SERVERS },
    config: { clientPort: CLIENT_PORT, adminPort: 18181, heapMb: 128 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
});
after(async () => {
  await s?.stop();
});

const schedule = async (id: string) => (await s.call('GET', `/api/v1/maintenance-schedules/${id}`)).body.schedule;
const operation = async (id: string) => (await s.call('GET', `/api/v1/operations/${id}`)).body.operation;
const temporalHandle = (id: string) => s.api.core.temporal.schedule.getHandle(`sophon-maintenance/${s.config.temporal.taskQueue}/${id}`);

async function createSchedule(body: Record<string, unknown>) {
  const res = await s.call('POST', '/api/v1/maintenance-schedules', { cluster: 'mz', ...body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.schedule;
}

test('tasks are listed, run on each server with their output per host, and bad requests are refused', async () => {
  const list = await s.call('GET', '/api/v1/clusters/mz/services/zookeeper/tasks');
  assert.equal(list.status, 200);
  const purge = list.body.tasks.find((t: { name: string }) => t.name === 'purge-snapshots');
  assert.deepEqual([purge.role, purge.where, purge.parameters[0].name, purge.parameters[0].default], ['server', 'each', 'keep', 3]);

  const res = await s.call('POST', '/api/v1/clusters/mz/services/zookeeper/tasks/health-report', { parameters: { word: 'srvr' } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.match(res.body.operation.workflowId, /^task\/mz\/zookeeper\/health-report\//);
  const op = await s.waitFor(res.body.operation.id, FINAL);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.deepEqual(op.steps.map((st: { host: string }) => st.host).sort(), SERVERS);
  for (const step of op.steps) assert.match(step.stdoutTail, /Mode: (leader|follower)/, `${step.host}: ${step.stdoutTail}`);

  const one = await s.call('POST', '/api/v1/clusters/mz/services/zookeeper/tasks/purge-snapshots', {
    parameters: { keep: 4 },
    hosts: ['n1'],
  });
  const purged = await s.waitFor(one.body.operation.id, FINAL);
  assert.equal(purged.status, 'SUCCEEDED', JSON.stringify(purged));
  assert.deepEqual(
    purged.steps.map((st: { host: string }) => st.host),
    ['n1'],
  );
  assert.match(purged.steps[0].stdoutTail, /kept in .*version-2:/);

  const bad: Array<[string, unknown, number, string]> = [
    ['health-report', { parameters: { word: 'kill' } }, 400, 'parameters.word'],
    ['purge-snapshots', { parameters: { keep: 1 } }, 400, 'parameters.keep'],
    ['purge-snapshots', { parameters: { nosuch: 1 } }, 400, 'parameters.nosuch'],
    ['purge-snapshots', { hosts: ['n3'] }, 400, 'hosts.0'],
  ];
  for (const [task, body, status, field] of bad) {
    const r = await s.call('POST', `/api/v1/clusters/mz/services/zookeeper/tasks/${task}`, body);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.ok(
      r.body.errors.some((e: { path: string }) => e.path === field),
      `${field} in ${JSON.stringify(r.body.errors)}`,
    );
  }
  assert.equal((await s.call('POST', '/api/v1/clusters/mz/services/zookeeper/tasks/nosuch', {})).status, 404);
});

test('bad schedules are refused with 422 naming the field, and nothing is created', async () => {
  const task = { kind: 'task', service: 'zookeeper', task: 'purge-snapshots' };
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ name: 'bad-cron', spec: { cron: '61 * * * *' }, action: task }, 'spec.cron'],
    [{ name: 'bad-fields', spec: { cron: '* * *' }, action: task }, 'spec.cron'],
    [{ name: 'bad-zone', spec: { cron: '0 3 * * *', timezone: 'Mars/Olympus_Mons' }, action: task }, 'spec.timezone'],
    [{ name: 'bad-task', spec: { everySeconds: 60 }, action: { ...task, task: 'nosuch' } }, 'action.task'],
    [{ name: 'bad-service', spec: { everySeconds: 60 }, action: { ...task, service: 'kafka' } }, 'action.service'],
    [{ name: 'bad-param', spec: { everySeconds: 60 }, action: { ...task, parameters: { keep: 1 } } }, 'action.parameters.keep'],
    [
      { name: 'bad-version', spec: { everySeconds: 60 }, action: { kind: 'upgrade', service: 'zookeeper', version: '9.9' } },
      'action.version',
    ],
  ];
  for (const [body, field] of cases) {
    const res = await s.call('POST', '/api/v1/maintenance-schedules', { cluster: 'mz', ...body });
    assert.equal(res.status, 422, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
    assert.match(res.type, /problem\+json/);
    assert.ok(
      res.body.errors.some((e: { path: string }) => e.path === field),
      `${field} in ${JSON.stringify(res.body.errors)}`,
    );
  }
  assert.deepEqual((await s.call('GET', '/api/v1/maintenance-schedules')).body.schedules, []);
  const prefix = `sophon-maintenance/${s.config.temporal.taskQueue}/`;
  for await (const t of s.api.core.temporal.schedule.list())
    assert.ok(!t.scheduleId.startsWith(prefix), `no Temporal Schedule: ${t.scheduleId}`);
});

test('an everySeconds purge schedule fires again and again, each run an operation with per-host output; pause, resume, trigger and delete', async () => {
  const created = await createSchedule({
    name: 'purge',
    spec: { everySeconds: 4 },
    action: { kind: 'task', service: 'zookeeper', task: 'purge-snapshots' },
  });
  assert.ok(created.nextRunAt, 'Temporal gives the next run time');
  const runs = await eventually(
    async () => {
      const r = (await schedule(created.id)).recentRuns.filter((x: { status: string }) => x.status === 'SUCCEEDED');
      return r.length >= 2 ? r : undefined;
    },
    'two successful runs',
    120_000,
  );
  for (const run of runs) {
    const op = await operation(run.operationId);
    assert.equal(op.requestedBy, 'schedule:purge');
    assert.equal(op.type, 'service.task');
    assert.deepEqual(op.steps.map((st: { host: string }) => st.host).sort(), SERVERS);
    for (const step of op.steps) assert.match(step.stdoutTail, /kept in .*version-2:/);
  }
  const listed = (await s.call('GET', '/api/v1/maintenance-schedules')).body.schedules;
  assert.deepEqual(
    listed.map((x: { name: string }) => x.name),
    ['purge'],
  );

  // Paused: no new runs over several intervals (a run already started may still end).
  const paused = await s.call('PATCH', `/api/v1/maintenance-schedules/${created.id}`, { paused: true });
  assert.equal(paused.status, 200, JSON.stringify(paused.body));
  assert.equal(paused.body.schedule.paused, true);
  assert.equal((await temporalHandle(created.id).describe()).state.paused, true);
  await new Promise((r) => setTimeout(r, 3000));
  const before = (await schedule(created.id)).recentRuns.length;
  await new Promise((r) => setTimeout(r, 10_000));
  assert.equal((await schedule(created.id)).recentRuns.length, before, 'no run while paused');

  // Trigger: exactly one run now, even while paused.
  const triggered = await s.call('POST', `/api/v1/maintenance-schedules/${created.id}/trigger`);
  assert.equal(triggered.status, 202, JSON.stringify(triggered.body));
  await eventually(
    async () => ((await schedule(created.id)).recentRuns.length === before + 1 ? true : undefined),
    'the triggered run',
    60_000,
  );
  await new Promise((r) => setTimeout(r, 6000));
  assert.equal((await schedule(created.id)).recentRuns.length, before + 1, 'one run only');

  // Resumed: runs again.
  assert.equal((await s.call('PATCH', `/api/v1/maintenance-schedules/${created.id}`, { paused: false })).status, 200);
  await eventually(
    async () => ((await schedule(created.id)).recentRuns.length >= before + 2 ? true : undefined),
    'a run after resuming',
    60_000,
  );

  // Deleted: gone from the API and from Temporal.
  assert.equal((await s.call('DELETE', `/api/v1/maintenance-schedules/${created.id}`)).status, 204);
  assert.equal((await s.call('GET', `/api/v1/maintenance-schedules/${created.id}`)).status, 404);
  await assert.rejects(temporalHandle(created.id).describe(), ScheduleNotFoundError);
  // Let runs still under way end before the next test takes the service.
  await eventually(
    async () => {
      const live = (await s.call('GET', '/api/v1/operations?cluster=mz&limit=500')).body.operations.filter(
        (o: { status: string }) => !FINAL.includes(o.status),
      );
      return live.length === 0 ? true : undefined;
    },
    'no live operation',
    60_000,
  );
});

test('a run that finds the service busy is SKIPPED with the operation in the way, and the schedule goes on', async () => {
  // sleeper's start runs in the foreground for an hour: its deploy holds the service's lock.
  const deploy = await s.call('POST', '/api/v1/clusters/mz/services', { service: 'sleeper', placement: { worker: ['n3'] } });
  assert.equal(deploy.status, 202, JSON.stringify(deploy.body));
  const blocker = deploy.body.operation.id;
  await eventually(
    async () => ((await operation(blocker)).phase?.startsWith('start') ? true : undefined),
    'the deploy to start its start step',
    120_000,
  );

  const created = await createSchedule({
    name: 'busy',
    spec: { everySeconds: 3600 },
    paused: true,
    action: { kind: 'restart', service: 'sleeper' },
  });
  for (let i = 0; i < 2; i++) {
    // Temporal names a run by its schedule and its second: triggers a second apart are two runs.
    if (i > 0) await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await s.call('POST', `/api/v1/maintenance-schedules/${created.id}/trigger`)).status, 202);
    const runs = await eventually(
      async () => {
        const r = (await schedule(created.id)).recentRuns;
        return r.length === i + 1 ? r : undefined;
      },
      `run ${i + 1}`,
      60_000,
    );
    assert.equal(runs[0].status, 'SKIPPED', JSON.stringify(runs[0]));
    assert.equal(runs[0].operationId, blocker);
    assert.match(runs[0].reason, new RegExp(blocker));
  }
  const d = await temporalHandle(created.id).describe();
  assert.equal(d.state.paused, true, 'a skipped run does not pause or fail the schedule');
  await s.call('POST', `/api/v1/operations/${blocker}/cancel`);
  await s.waitFor(blocker, ['CANCELLED', 'FAILED']);
  assert.equal((await s.call('DELETE', `/api/v1/maintenance-schedules/${created.id}`)).status, 204);
});

test('a windowed run puts the service and its hosts in maintenance for the run and the window, then it ends by itself', async () => {
  const created = await createSchedule({
    name: 'windowed',
    spec: { cron: '0 3 * * 0', timezone: 'Europe/Paris' },
    paused: true,
    window: { durationSeconds: 4 },
    action: { kind: 'task', service: 'zookeeper', task: 'health-report', hosts: ['n1'] },
  });
  assert.deepEqual(created.window, { durationSeconds: 4 });
  const svc = async () => (await s.call('GET', '/api/v1/clusters/mz/services/zookeeper')).body.service;
  const host = async (h: string) => (await s.call('GET', `/api/v1/clusters/mz/hosts/${h}`)).body;
  assert.equal((await svc()).maintenance, false);
  assert.equal((await s.call('POST', `/api/v1/maintenance-schedules/${created.id}/trigger`)).status, 202);
  const run = await eventually(async () => (await schedule(created.id)).recentRuns[0], 'the run', 60_000);
  assert.ok(run.operationId, JSON.stringify(run));
  // The window opened before the run was recorded, and lasts until 4 s after its operation ends.
  const during = await svc();
  assert.equal(during.maintenance, true, JSON.stringify(during));
  const op = await s.waitFor(run.operationId, FINAL);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  // The window closes durationSeconds after the run ended.
  const after = await eventually(
    async () => {
      const v = await svc();
      return v.maintenanceUntil && Math.abs(new Date(v.maintenanceUntil).getTime() - (new Date(op.finishedAt).getTime() + 4000)) < 3000
        ? v
        : undefined;
    },
    'the window to end 4 s after the run',
    30_000,
  );
  assert.ok(new Date(after.maintenanceUntil).getTime() > new Date(op.startedAt).getTime());
  const n1 = await host('n1');
  assert.ok(n1.maintenanceUntil, 'the host the task was limited to is in the window too');
  assert.equal((await host('n0')).maintenanceUntil, null);
  await eventually(async () => ((await svc()).maintenance === false ? true : undefined), 'the window to end', 30_000);
  assert.equal((await host('n1')).maintenance, false);
  assert.equal((await s.call('DELETE', `/api/v1/maintenance-schedules/${created.id}`)).status, 204);
});

test('a run whose operation goes HOLDING waits for the decision, and ends with the operation', async () => {
  const stop = await s.call('POST', '/api/v1/clusters/mz/services/zookeeper/actions', { action: 'stop', hosts: ['n1'] });
  assert.equal((await s.waitFor(stop.body.operation.id, FINAL)).status, 'SUCCEEDED');
  const created = await createSchedule({
    name: 'holding',
    spec: { everySeconds: 3600 },
    paused: true,
    action: { kind: 'task', service: 'zookeeper', task: 'health-report', hosts: ['n1'] },
  });
  assert.equal((await s.call('POST', `/api/v1/maintenance-schedules/${created.id}/trigger`)).status, 202);
  const run = await eventually(async () => (await schedule(created.id)).recentRuns[0], 'the run', 60_000);
  // n1's server is stopped: the four-letter word gets no answer and the step holds.
  const held = await s.waitFor(run.operationId, FINAL);
  assert.equal(held.status, 'HOLDING', JSON.stringify(held));
  assert.equal((await schedule(created.id)).recentRuns[0].status, 'HOLDING');
  const runWorkflow = s.api.core.temporal.workflow.getHandle(run.workflowId);
  assert.equal((await runWorkflow.describe()).status.name, 'RUNNING', 'the run waits with its operation');
  const decided = await s.call('POST', `/api/v1/operations/${run.operationId}/decision`, { action: 'abort' });
  assert.equal(decided.status, 202, JSON.stringify(decided.body));
  const result = await runWorkflow.result();
  assert.deepEqual([result.operationId, result.status], [run.operationId, 'FAILED']);
  assert.equal((await schedule(created.id)).recentRuns[0].status, 'FAILED');
  assert.equal((await s.call('DELETE', `/api/v1/maintenance-schedules/${created.id}`)).status, 204);
  const start = await s.call('POST', '/api/v1/clusters/mz/services/zookeeper/actions', { action: 'start', hosts: ['n1'] });
  assert.equal((await s.waitFor(start.body.operation.id, FINAL)).status, 'SUCCEEDED');
});

test('maintenance is set by hand with an end time on services and hosts, and cleared', async () => {
  const until = new Date(Date.now() + 3600_000).toISOString();
  const set = await s.call('PATCH', '/api/v1/clusters/mz/services/zookeeper', { maintenance: { until } });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.equal(set.body.service.maintenance, true);
  assert.equal(new Date(set.body.service.maintenanceUntil).toISOString(), until);
  const audited = await s.db.pool.query(`SELECT target FROM audit_log WHERE action = 'service.update' AND request_id = $1`, [
    set.headers.get('x-request-id'),
  ]);
  assert.deepEqual(audited.rows, [{ target: 'mz/zookeeper' }], 'the update is audited with its request id');
  const cleared = await s.call('PATCH', '/api/v1/clusters/mz/services/zookeeper', { maintenance: null });
  assert.deepEqual([cleared.body.service.maintenance, cleared.body.service.maintenanceUntil], [false, null]);
  const bad = await s.call('PATCH', '/api/v1/clusters/mz/services/zookeeper', { maintenance: { until: 'tomorrow' } });
  assert.equal(bad.status, 400);
  assert.ok(
    bad.body.errors.some((e: { path: string }) => e.path === 'maintenance.until'),
    JSON.stringify(bad.body),
  );

  const h = await s.call('PATCH', '/api/v1/clusters/mz/hosts/n2', { maintenance: { until } });
  assert.equal(h.status, 200, JSON.stringify(h.body));
  assert.deepEqual([h.body.maintenance, new Date(h.body.maintenanceUntil).toISOString()], [true, until]);
  const off = await s.call('PATCH', '/api/v1/clusters/mz/hosts/n2', { maintenance: false });
  assert.deepEqual([off.body.maintenance, off.body.maintenanceUntil], [false, null]);
  const on = await s.call('PATCH', '/api/v1/clusters/mz/hosts/n2', { maintenance: true });
  assert.deepEqual([on.body.maintenance, on.body.maintenanceUntil], [true, null]);
  await s.call('PATCH', '/api/v1/clusters/mz/hosts/n2', { maintenance: false });
});

test("Redis's bgsave task runs on the master and answers with Redis's own words", async () => {
  const deploy = await s.call('POST', '/api/v1/clusters/mz/services', {
    service: 'redis',
    placement: { master: ['n3'] },
    config: { port: 16379 },
  });
  assert.equal(deploy.status, 202, JSON.stringify(deploy.body));
  assert.equal((await s.waitFor(deploy.body.operation.id, FINAL)).status, 'SUCCEEDED');
  const res = await s.call('POST', '/api/v1/clusters/mz/services/redis/tasks/bgsave', {});
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.deepEqual(
    op.steps.map((st: { host: string; role: string }) => `${st.role}@${st.host}`),
    ['master@n3'],
  );
  assert.match(op.steps[0].stdoutTail, /Background saving started/);
  const removal = await s.call('DELETE', '/api/v1/clusters/mz/services/redis');
  assert.equal((await s.waitFor(removal.body.operation.id, FINAL)).status, 'SUCCEEDED');
});

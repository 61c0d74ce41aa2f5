/**
 * Spark standalone and a Flink session cluster from the PyPI-built packages, on a real sshd fleet
 * of three hosts: a Spark master and two workers run SparkPi (the package's Python example); a
 * worker killed with SIGKILL is seen down by the next poll, restarted by auto-recovery and
 * registered again; a JobManager and two TaskManagers run the package's sample job through the
 * REST API, and a rolling restart of the TaskManagers ends with both registered. Every port of
 * every daemon is bound to its instance's address. Bad placements are refused naming the field.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { monitoringWorkflowIds, type PollResult } from '../../../src/features/monitoring/types.js';
import { eventually } from '../../helpers/harness.js';
import { pgrep, startStack, type Stack } from '../services/helpers.js';

let s: Stack;
let clusterId: string;
const FINAL = ['SUCCEEDED', 'FAILED', 'HOLDING', 'CANCELLED'];
const MASTER_WEB = 8080;
const WORKER_WEB = 8081;
const HISTORY_WEB = 18080;
const REST = 8081;
const JM_METRICS = 9249;
const TM_METRICS = 9250;

before(async () => {
  // Polls run when a test triggers them.
  s = await startStack({ hosts: 3, block: 121, cluster: 'stream', env: { SOPHON_POLL_INTERVAL_SECONDS: '3600' } });
  clusterId = (await s.call('GET', '/api/v1/clusters/stream')).body.id;
});
after(async () => {
  // Daemons outlive the fleet's sshds: stop what this file started (the stack kills the rest under its install roots).
  for (const h of s ? ['n0', 'n1', 'n2'] : []) for (const pid of pgrep(`${root(h)}/(spark|flink)/`)) process.kill(pid, 'SIGKILL');
  await s?.stop();
});

const host = (h: string) => s.fleet.hosts[Number(h.slice(1))]!;
const root = (h: string) => host(h).installRoot;
const address = (h: string) => host(h).address;
const pidOf = (h: string, service: string, role: string) =>
  Number(readFileSync(path.join(root(h), `${service}/run/${role}/${role}.pid`), 'utf8').trim());
const getJson = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(5000) })).json() as Promise<any>;
const getText = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();

/** The TCP addresses `pid` listens on, from `ss`. */
function listening(pid: number): string[] {
  const out = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) =>
      l
        .trim()
        .split(/\s+/)[3]!
        .replace(/^\[::ffff:(.*)\]/, '$1'),
    );
}
function assertBoundTo(pid: number, h: string, what: string) {
  const ports = listening(pid);
  assert.ok(ports.length > 0, `${what} listens`);
  for (const p of ports) assert.ok(p.startsWith(`${address(h)}:`), `${what} binds ${p}, not only ${address(h)}: ${ports.join(' ')}`);
}

async function deploy(body: unknown) {
  const res = await s.call('POST', '/api/v1/clusters/stream/services', body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL, 600_000);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
}
async function runTask(service: string, task: string, parameters: Record<string, unknown>) {
  const res = await s.call('POST', `/api/v1/clusters/stream/services/${service}/tasks/${task}`, { parameters });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return s.waitFor(res.body.operation.id, FINAL, 900_000);
}

const schedule = () => s.api.core.temporal.schedule.getHandle(monitoringWorkflowIds.pollSchedule(s.config.temporal.taskQueue, clusterId));
/** Triggers the poll schedule and waits for the poll it starts (scheduled runs are named by the second). */
let lastTrigger = 0;
async function poll(): Promise<PollResult> {
  await new Promise((r) => setTimeout(r, Math.max(0, lastTrigger + 1100 - Date.now())));
  lastTrigger = Date.now();
  const lastId = async () => (await schedule().describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
  const seen = await lastId();
  await schedule().trigger();
  const workflowId = await eventually(async () => {
    const id = await lastId();
    return id !== seen ? id : undefined;
  }, 'the schedule to start a poll');
  return s.api.core.temporal.workflow.getHandle(workflowId).result();
}
const instanceOf = async (service: string, role: string, h: string) =>
  (
    (await s.call('GET', `/api/v1/clusters/stream/services/${service}`)).body.service.instances as Array<{
      id: string;
      role: string;
      host: string;
      observedState: string;
      statusReason: string | null;
    }>
  ).find((i) => i.role === role && i.host === h)!;
/** Polls until the poll sees the instance in `state` (a loaded machine may leave one UNKNOWN for a while). */
async function pollUntil(service: string, role: string, h: string, state: 'RUNNING' | 'STOPPED'): Promise<PollResult> {
  for (let i = 0; ; i++) {
    const result = await poll();
    const seen = await instanceOf(service, role, h);
    if (seen.observedState === state) return result;
    if (i >= 10) assert.fail(`10 polls did not see ${service} ${role} on ${h} ${state}: ${JSON.stringify({ result, seen })}`);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

/** The latest samples of `metric` that Sophon's polls scraped, as [host, role, value]. */
const scraped = async (metric: string) =>
  (
    (await s.call('GET', `/api/v1/clusters/stream/metrics?metric=${metric}`)).body.samples as Array<{
      host: string;
      role: string;
      value: number;
      labels: Record<string, string>;
    }>
  ).map((x) => [x.host, x.role, x.value, x.labels]);

/** The master's live workers, by worker id. */
const aliveWorkers = async () =>
  ((await getJson(`http://${address('n0')}:${MASTER_WEB}/json/`)).workers as Array<{ id: string; host: string; state: string }>).filter(
    (w) => w.state === 'ALIVE',
  );
const workerId = async (h: string) => (await getJson(`http://${address(h)}:${WORKER_WEB}/json/`)).id as string;

test('bad placements are refused with the field path, and nothing is deployed', async () => {
  const cases: Array<[unknown, string]> = [
    [{ service: 'spark', placement: { worker: ['n1'] } }, 'placement.master'],
    [{ service: 'spark', placement: { master: ['n0', 'n1'], worker: ['n2'] } }, 'service'],
    [{ service: 'spark', placement: { master: ['n0'], worker: ['n1'] }, config: { executorMemory: '1 g' } }, 'config.executorMemory'],
    [{ service: 'flink', placement: { taskmanager: ['n1', 'n2'] } }, 'placement.jobmanager'],
  ];
  for (const [body, field] of cases) {
    const res = await s.call('POST', '/api/v1/clusters/stream/services', body);
    assert.ok([400, 422].includes(res.status), `${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
    assert.match(res.type, /problem\+json/);
    assert.ok(
      res.body.errors.some((e: { path: string }) => e.path === field),
      `${field} named in ${JSON.stringify(res.body.errors)}`,
    );
  }
  const noMaster = await s.call('POST', '/api/v1/clusters/stream/services', { service: 'spark', placement: { worker: ['n1'] } });
  assert.equal(noMaster.status, 422);
  const twoMasters = await s.call('POST', '/api/v1/clusters/stream/services', {
    service: 'spark',
    placement: { master: ['n0', 'n1'], worker: ['n2'] },
  });
  assert.match(JSON.stringify(twoMasters.body.errors), /zookeeper/);
  assert.deepEqual((await s.call('GET', '/api/v1/clusters/stream/services')).body.services, []);
});

test('Spark: a master and two workers deploy, the workers register, every port binds the instance address', async () => {
  await deploy({
    service: 'spark',
    placement: { master: ['n0'], worker: ['n1', 'n2'], historyserver: ['n0'] },
    config: { daemonMemory: '128m', workerCores: 1, workerMemory: '1g', executorMemory: '512m', driverMemory: '512m' },
  });
  const master = await getJson(`http://${address('n0')}:${MASTER_WEB}/json/`);
  assert.equal(master.status, 'ALIVE');
  assert.deepEqual((await aliveWorkers()).map((w) => w.host).sort(), [address('n1'), address('n2')]);

  assertBoundTo(pidOf('n0', 'spark', 'master'), 'n0', 'the Spark master');
  assertBoundTo(pidOf('n0', 'spark', 'historyserver'), 'n0', 'the history server');
  for (const h of ['n1', 'n2']) assertBoundTo(pidOf(h, 'spark', 'worker'), h, `the worker on ${h}`);
  assert.match(
    await getText(`http://${address('n0')}:${MASTER_WEB}/metrics/master/prometheus/`),
    /metrics_master_aliveWorkers_Value\{[^}]*\} 2\b/,
  );
});

test('Spark: the SparkPi task runs the Python example on the workers and prints pi', async () => {
  const op = await runTask('spark', 'spark-pi', { partitions: 2 });
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.steps.length, 1);
  assert.equal(op.steps[0].host, 'n0');
  assert.match(op.steps[0].stdoutTail, /Pi is roughly 3\.\d+/);
  // The application ran on the cluster: the master lists it FINISHED; the history server read its event log.
  const completed = (await getJson(`http://${address('n0')}:${MASTER_WEB}/json/`)).completedapps as Array<{ name: string; state: string }>;
  assert.deepEqual(
    completed.map((a) => [a.name, a.state]),
    [['SparkPi', 'FINISHED']],
  );
  await eventually(
    async () => {
      const apps = (await getJson(`http://${address('n0')}:${HISTORY_WEB}/api/v1/applications`)) as Array<{ name: string }>;
      return apps.some((a) => a.name === 'SparkPi') ? true : undefined;
    },
    'the history server to list SparkPi',
    60_000,
  );
});

test('Spark: a worker killed with SIGKILL is seen down by the next poll, restarted by auto-recovery and registered again', async () => {
  for (const h of ['n1', 'n2']) await pollUntil('spark', 'worker', h, 'RUNNING');
  const oldPid = pidOf('n1', 'spark', 'worker');
  const oldId = await workerId('n1');
  process.kill(oldPid, 'SIGKILL');
  await eventually(async () => (existsSync(`/proc/${oldPid}`) ? undefined : true), 'the worker to die');

  const result = await pollUntil('spark', 'worker', 'n1', 'STOPPED');
  assert.equal(result.recovery.started, 1, JSON.stringify(result));
  const ops = (await s.call('GET', '/api/v1/operations?cluster=stream&service=spark&limit=100')).body.operations as Array<{
    id: string;
    type: string;
    requestedBy: string;
  }>;
  const recover = ops.find((o) => o.type === 'service.recover');
  assert.ok(recover, 'a recover operation is listed');
  assert.equal(recover.requestedBy, 'auto-recovery');
  const done = await s.waitFor(recover.id, FINAL, 300_000);
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
  assert.deepEqual(
    done.steps.map((x: { host: string; step: string; status: string }) => `${x.host}:${x.step}:${x.status}`),
    ['n1:stop:SUCCEEDED', 'n1:start:SUCCEEDED', 'n1:health:SUCCEEDED'],
  );

  // Its health step passed only once the new process was registered ALIVE under its own id.
  const newPid = pidOf('n1', 'spark', 'worker');
  assert.notEqual(newPid, oldPid);
  const newId = await workerId('n1');
  assert.notEqual(newId, oldId);
  assert.ok(
    (await aliveWorkers()).some((w) => w.id === newId),
    `${newId} is ALIVE at the master`,
  );
  assertBoundTo(newPid, 'n1', 'the restarted worker');
  await pollUntil('spark', 'worker', 'n1', 'RUNNING');
  // The polls scrape the master's Prometheus servlet: two live workers once the master has dropped
  // the killed one (at once when its connection closes, else after spark.worker.timeout).
  const samples = await eventually(
    async () => {
      await poll();
      const found = await scraped('metrics_master_aliveWorkers_Value');
      if (found.length === 1 && found[0]![2] === 2) return found;
      await new Promise((r) => setTimeout(r, 3000));
      return undefined;
    },
    'the scraped metrics_master_aliveWorkers_Value to be 2',
    180_000,
  );
  assert.deepEqual(samples, [['n0', 'master', 2, { type: 'gauges' }]]);
});

test('Flink: a JobManager and two TaskManagers deploy, register and bind the instance address', async () => {
  await deploy({
    service: 'flink',
    placement: { jobmanager: ['n0'], taskmanager: ['n1', 'n2'] },
    config: { jobManagerMemory: '768m', taskManagerMemory: '1g', slots: 2 },
  });
  const overview = await getJson(`http://${address('n0')}:${REST}/overview`);
  assert.equal(overview.taskmanagers, 2, JSON.stringify(overview));
  assertBoundTo(pidOf('n0', 'flink', 'jobmanager'), 'n0', 'the JobManager');
  for (const h of ['n1', 'n2']) assertBoundTo(pidOf(h, 'flink', 'taskmanager'), h, `the TaskManager on ${h}`);
  // Flink's Prometheus reporter, on the JobManager's address.
  assert.match(await getText(`http://${address('n0')}:${JM_METRICS}/metrics`), /^flink_jobmanager_numRegisteredTaskManagers 2\.0$/m);
  for (const h of ['n1', 'n2'])
    assert.match(await getText(`http://${address(h)}:${TM_METRICS}/metrics`), /^flink_taskmanager_Status_JVM_Memory_NonHeap_Used\{/m);
  // Sophon's poll scrapes them; the series carry no host label of their own.
  await poll();
  assert.deepEqual(await scraped('flink_jobmanager_numRegisteredTaskManagers'), [['n0', 'jobmanager', 2, {}]]);
});

test('Flink: the run-job task submits the sample job through the REST API and it FINISHES', async () => {
  const op = await runTask('flink', 'run-job', { parallelism: 2 });
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  const job = /job ([0-9a-f]{32}) FINISHED/.exec(op.steps[0].stdoutTail)?.[1];
  assert.ok(job, op.steps[0].stdoutTail);
  assert.deepEqual(await getJson(`http://${address('n0')}:${REST}/jobs/${job}/status`), { status: 'FINISHED' });
  // The job printed its ten sums on the TaskManagers' stdout.
  const printed = ['n1', 'n2']
    .map((h) => path.join(root(h), 'flink/logs/taskmanager/taskmanager.out'))
    .filter((f) => existsSync(f))
    .flatMap((f) => readFileSync(f, 'utf8').match(/residue \d: sum of squares \d+/g) ?? []);
  assert.equal(printed.length, 10, printed.join('\n'));
});

test('Flink: a rolling restart of the TaskManagers ends with both registered as their new processes', async () => {
  const before = Object.fromEntries(['n1', 'n2'].map((h) => [h, pidOf(h, 'flink', 'taskmanager')]));
  const res = await s.call('POST', '/api/v1/clusters/stream/services/flink/actions', {
    action: 'restart',
    roles: ['taskmanager'],
    rolling: { batchSize: 1 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL, 600_000);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.result.batches, 2);
  for (const h of ['n1', 'n2']) assert.notEqual(pidOf(h, 'flink', 'taskmanager'), before[h], `${h} runs a new TaskManager`);
  // Their ids name their pids: the JobManager lists the new processes, and (once it has let go of them) only those.
  const expected = ['n1', 'n2'].map((h) => `${address(h)}-${pidOf(h, 'flink', 'taskmanager')}`).sort();
  const registered = async () =>
    ((await getJson(`http://${address('n0')}:${REST}/taskmanagers`)).taskmanagers as Array<{ id: string }>).map((t) => t.id).sort();
  await eventually(
    async () => ((await registered()).join() === expected.join() ? true : undefined),
    `the JobManager to list exactly ${expected.join(', ')}`,
    90_000,
  ).catch(async (err) => assert.fail(`${(err as Error).message}; it lists ${(await registered()).join(', ')}`));
});

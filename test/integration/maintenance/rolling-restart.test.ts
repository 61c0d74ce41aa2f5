/**
 * A maintenance schedule that rolls a real 3-server ZooKeeper ensemble: its runs keep the
 * quorum (sampled with ZooKeeper's own `srvr`), runs that fire while one is rolling are
 * SKIPPED naming it, and the runs show up both under the Temporal Schedule (recentActions)
 * and in GET /api/v1/maintenance-schedules/:id.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually } from '../../helpers/harness.js';
import { modeOf, sampleEvery, srvr, startStack, type Stack } from '../services/helpers.js';

let s: Stack;
const CLIENT_PORT = 13281;
const SERVERS = ['n0', 'n1', 'n2'];
const FINAL = ['SUCCEEDED', 'FAILED', 'CANCELLED', 'HOLDING'];

before(async () => {
  s = await startStack({ hosts: 3, block: 70, cluster: 'mr' });
  const res = await s.call('POST', '/api/v1/clusters/mr/services', {
    service: 'zookeeper',
    placement: { server: SERVERS },
    config: { clientPort: CLIENT_PORT, adminPort: 18281, heapMb: 128 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal((await s.waitFor(res.body.operation.id, FINAL)).status, 'SUCCEEDED');
});
after(async () => {
  await s?.stop();
});

const modes = () => Promise.all(s.fleet.hosts.map(async (h) => modeOf(await srvr(h.address, CLIENT_PORT))));

test('a rolling-restart schedule keeps quorum; its runs are under the Temporal Schedule and in the API', { timeout: 600_000 }, async () => {
  const watch = sampleEvery(async () => ({ modes: await modes() }));
  const res = await s.call('POST', '/api/v1/maintenance-schedules', {
    name: 'weekly-roll',
    cluster: 'mr',
    spec: { everySeconds: 10 },
    action: { kind: 'restart', service: 'zookeeper', rolling: { batchSize: 1 } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.schedule.id;
  const schedule = async () => (await s.call('GET', `/api/v1/maintenance-schedules/${id}`)).body.schedule;

  const done = await eventually(
    async () =>
      (await schedule()).recentRuns.find(
        (r: { status: string; operationId: string }) => r.operationId && FINAL.includes(r.status) && r.status !== 'SKIPPED',
      ),
    'a finished roll',
    400_000,
  );
  assert.equal((await s.call('PATCH', `/api/v1/maintenance-schedules/${id}`, { paused: true })).status, 200);
  const samples = await watch.stop();
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));

  const op = (await s.call('GET', `/api/v1/operations/${done.operationId}`)).body.operation;
  assert.equal(op.type, 'service.restart');
  assert.equal(op.requestedBy, 'schedule:weekly-roll');
  assert.equal(op.result.batches, 3);
  for (const h of SERVERS) {
    assert.deepEqual(
      op.steps.filter((x: { host: string }) => x.host === h).map((x: { step: string }) => x.step),
      ['stop', 'start', 'health'],
      `${h} restarted`,
    );
  }

  // Quorum held: a majority of the servers answered at every sample while the schedule rolled.
  assert.ok(samples.length > 10, `sampled ${samples.length} times`);
  for (const sample of samples) {
    const up = sample.modes.filter((m) => m !== 'down').length;
    assert.ok(up >= 2, `a majority is up at ${new Date(sample.at).toISOString()}: ${sample.modes}`);
  }

  // Runs that fired during the roll were skipped, naming the roll; none queued behind it.
  const runs = (await schedule()).recentRuns as Array<{ status: string; operationId: string; workflowId: string }>;
  for (const r of runs.filter((x) => x.status === 'SKIPPED'))
    assert.ok(r.operationId, `a skipped run names the operation in the way: ${JSON.stringify(r)}`);
  const rolls = runs.filter((r) => r.status !== 'SKIPPED').map((r) => r.operationId);
  assert.equal(new Set(rolls).size, rolls.length, 'every run that started did so with an operation of its own');

  const rollRun = runs.find((r) => r.operationId === done.operationId && r.status !== 'SKIPPED')!;
  // Temporal lists the same runs under the schedule.
  const described = await s.api.core.temporal.schedule.getHandle(`sophon-maintenance/${s.config.temporal.taskQueue}/${id}`).describe();
  const actions = new Set(described.info.recentActions.map((a) => a.action.workflow.workflowId));
  assert.ok(actions.has(rollRun.workflowId), `${[...actions].join(', ')} include the roll's run`);
  for (const r of runs)
    assert.ok(actions.has(r.workflowId) || described.info.recentActions.length >= 10, `${r.workflowId} is a recent action of the schedule`);
  const result = await s.api.core.temporal.workflow.getHandle(rollRun.workflowId).result();
  assert.deepEqual([result.operationId, result.status], [done.operationId, 'SUCCEEDED'], "the run's workflow ends with its operation");

  // Every server serves again.
  const m = await modes();
  assert.deepEqual([...m].sort(), ['follower', 'follower', 'leader']);
  assert.equal((await s.call('DELETE', `/api/v1/maintenance-schedules/${id}`)).status, 204);
});

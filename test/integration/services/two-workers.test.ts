/**
 * Two `sophon worker` processes on one task queue: the one running a rolling restart's step is
 * killed with SIGKILL mid-batch, the other finishes the operation, and no instance was started
 * twice (each start leaves a line on its host).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../../helpers/harness.js';
import { alive, startStack, type Stack } from './helpers.js';

let s: Stack;
const HOSTS = ['n0', 'n1', 'n2'];

before(async () => {
  s = await startStack({ hosts: 3, block: 49, cluster: 'pair', workerProcesses: 2 });
});
after(async () => {
  await s?.stop();
});

const starts = (i: number) =>
  readFileSync(path.join(s.fleet.hosts[i]!.installRoot, 'counter/data/worker/starts.log'), 'utf8').split('\n').filter(Boolean).length;

test(
  'the worker running a rolling restart dies mid-batch; the other finishes it with no duplicate start',
  { timeout: 300_000 },
  async (t) => {
    const deploy = await s.call('POST', '/api/v1/clusters/pair/services', { service: 'counter', placement: { worker: HOSTS } });
    assert.equal(deploy.status, 202, JSON.stringify(deploy.body));
    assert.equal((await s.waitFor(deploy.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
    assert.deepEqual([0, 1, 2].map(starts), [1, 1, 1]);
    const pids = () =>
      [0, 1, 2].map((i) => Number(readFileSync(path.join(s.fleet.hosts[i]!.installRoot, 'counter/run/worker/counter.pid'), 'utf8')));
    const before = pids();

    const res = await s.call('POST', '/api/v1/clusters/pair/services/counter/actions', { action: 'restart', rolling: { batchSize: 1 } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const op = res.body.operation;

    // Mid-batch: the second batch's start runs (it takes a few seconds on the host).
    await eventually(
      async () => {
        const steps = (await s.call('GET', `/api/v1/operations/${op.id}`)).body.operation.steps;
        return steps.some(
          (x: { phase: string; step: string; status: string }) =>
            x.phase === 'restart batch 2' && x.step === 'start' && x.status === 'RUNNING',
        )
          ? true
          : undefined;
      },
      'the second batch to be starting',
      120_000,
    );
    const described = await s.api.core.temporal.workflow.getHandle(op.workflowId).describe();
    const identity = described.raw.pendingActivities?.[0]?.lastWorkerIdentity ?? '';
    const pid = Number(identity.split('@')[0]);
    const victim = s.workers.find((w) => w.child.pid === pid);
    assert.ok(victim, `the step runs on one of the two worker processes (identity ${identity})`);
    victim.child.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();

    const done = await s.waitFor(op.id, ['SUCCEEDED', 'FAILED', 'HOLDING'], 180_000).catch(async (err: Error) => {
      const now = (await s.call('GET', `/api/v1/operations/${op.id}`)).body.operation;
      const survivor = s.workers.find((w) => w !== victim)!;
      throw new Error(
        `${err.message}\noperation: ${JSON.stringify(now)}\nsurviving worker (exit ${survivor.child.exitCode}):\n${survivor.output()}`,
      );
    });
    t.diagnostic(`finished ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    const attempts = (await s.call('GET', `/api/v1/operations/${op.id}?attempts=all`)).body.operation.steps;
    for (const a of attempts) t.diagnostic(`${a.phase} ${a.host} ${a.step} #${a.attempt} ${a.status} ${a.message ?? ''}`);
    // Only the step the dead worker ran needed a second attempt.
    assert.deepEqual(
      attempts.filter((a: { attempt: number }) => a.attempt > 1).map((a: { phase: string; step: string }) => `${a.phase}/${a.step}`),
      ['restart batch 2/start'],
    );
    assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
    assert.deepEqual([0, 1, 2].map(starts), [2, 2, 2], 'every instance started once by the deploy and once by the restart');
    const after = pids();
    assert.deepEqual(after.map(alive), [true, true, true], 'each host runs its new process');
    assert.deepEqual(before.map(alive), [false, false, false], 'the old processes are gone');

    const removal = await s.call('DELETE', '/api/v1/clusters/pair/services/counter');
    assert.equal((await s.waitFor(removal.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
    assert.deepEqual(after.map(alive), [false, false, false]);
  },
);

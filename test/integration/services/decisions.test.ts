/**
 * HOLDING and the operator's decisions on a real fleet: a host goes down mid-deploy and the
 * operation waits for retry, skip, abort or rollback; a cancel during a long step kills the
 * remote process. node-exporter is the component (quick to deploy).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../../helpers/harness.js';
import { pgrep, startStack, type Stack } from './helpers.js';

let s: Stack;
const PORT = 19100;

before(async () => {
  // Hosts go down on purpose here; the reachability check must not mark them UNREACHABLE meanwhile.
  s = await startStack({ hosts: 3, block: 45, cluster: 'ops', env: { SOPHON_HOST_CHECK_INTERVAL_SECONDS: '3600' } });
});
after(async () => {
  await s?.stop();
});

const root = (i: number) => s.fleet.hosts[i]!.installRoot;
const exporterOn = (i: number) => pgrep(`node_exporter --web.listen-address=${s.fleet.hosts[i]!.address}:${PORT}`).length;
const deployExporter = async (hosts = ['n0', 'n1']) => {
  const res = await s.call('POST', '/api/v1/clusters/ops/services', {
    service: 'node-exporter',
    placement: { exporter: hosts },
    config: { port: PORT },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return res.body.operation.id as string;
};
const decide = async (id: string, action: string) => s.call('POST', `/api/v1/operations/${id}/decision`, { action });
const removeExporter = async () => {
  const res = await s.call('DELETE', '/api/v1/clusters/ops/services/node-exporter');
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal((await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
};

/** Deploys with host n1 down and waits for the operation to hold on it. */
async function deployWithHostDown() {
  await s.fleet.stopHost(1);
  const id = await deployExporter();
  const op = await s.waitFor(id, ['HOLDING', 'SUCCEEDED', 'FAILED']);
  assert.equal(op.status, 'HOLDING', JSON.stringify(op));
  assert.equal(op.holding.length, 1);
  assert.equal(op.holding[0].host, 'n1');
  assert.equal(op.holding[0].step, 'install');
  assert.match(op.holding[0].reason, /n1|127\./);
  return { id, op };
}

test('host down mid-deploy: HOLDING with the host and reason; host back, retry → SUCCEEDED', async () => {
  const { id, op } = await deployWithHostDown();
  assert.equal(op.canRollback, true);
  const attempts = (await s.call('GET', `/api/v1/operations/${id}?attempts=all`)).body.operation.steps.filter(
    (x: { host: string; step: string }) => x.host === 'n1' && x.step === 'install',
  );
  assert.equal(attempts.length, 3, 'three attempts of the step are kept');
  assert.deepEqual(
    attempts.map((a: { attempt: number }) => a.attempt),
    [1, 2, 3],
  );

  const wrong = await decide(id, 'bogus');
  assert.equal(wrong.status, 400);
  await s.fleet.startHost(1);
  const res = await decide(id, 'retry');
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const done = await s.waitFor(id, ['SUCCEEDED', 'FAILED']);
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
  assert.deepEqual(done.result.skippedHosts, []);
  assert.equal(exporterOn(0), 1);
  assert.equal(exporterOn(1), 1);
  const again = await decide(id, 'retry');
  assert.equal(again.status, 409);
  await removeExporter();
  assert.equal(exporterOn(0) + exporterOn(1), 0);
});

test('skip carries on without the host and records it SKIPPED', async () => {
  const { id } = await deployWithHostDown();
  assert.equal((await decide(id, 'skip')).status, 202);
  const done = await s.waitFor(id, ['SUCCEEDED', 'FAILED']);
  assert.equal(done.status, 'SUCCEEDED', JSON.stringify(done));
  assert.deepEqual(done.result.skippedHosts, ['n1']);
  const install = done.steps.find((x: { host: string; step: string }) => x.host === 'n1' && x.step === 'install');
  assert.equal(install.status, 'SKIPPED');
  assert.equal(exporterOn(0), 1);
  await s.fleet.startHost(1);
  await removeExporter();
});

test('abort stops the operation FAILED and leaves things as they are', async () => {
  const { id } = await deployWithHostDown();
  assert.equal((await decide(id, 'abort')).status, 202);
  const done = await s.waitFor(id, ['FAILED', 'SUCCEEDED']);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.error.code, 'ABORTED');
  assert.equal((await s.call('GET', '/api/v1/clusters/ops/services/node-exporter')).body.service.status, 'FAILED');
  assert.ok(existsSync(path.join(root(0), 'node-exporter/current')), 'what was installed stays');
  await s.fleet.startHost(1);
  await removeExporter();
});

test('rollback of a partly done deploy undoes it: ROLLED_BACK and the hosts clean', async () => {
  const { id } = await deployWithHostDown();
  await eventually(async () => {
    const steps = (await s.call('GET', `/api/v1/operations/${id}`)).body.operation.steps;
    return steps.some(
      (x: { host: string; step: string; status: string }) => x.host === 'n0' && x.step === 'install' && x.status === 'SUCCEEDED',
    )
      ? true
      : undefined;
  }, 'n0 to be installed');
  assert.ok(existsSync(path.join(root(0), 'node-exporter/1.5.0/bin/node_exporter')), 'n0 was installed before the rollback');
  await s.fleet.startHost(1);
  assert.equal((await decide(id, 'rollback')).status, 202);
  const done = await s.waitFor(id, ['ROLLED_BACK', 'FAILED', 'SUCCEEDED', 'HOLDING']);
  assert.equal(done.status, 'ROLLED_BACK', JSON.stringify(done));
  for (const i of [0, 1]) assert.equal(existsSync(path.join(root(i), 'node-exporter')), false, `n${i} is clean`);
  assert.equal(exporterOn(0) + exporterOn(1), 0);
  assert.equal((await s.call('GET', '/api/v1/clusters/ops/services/node-exporter')).status, 404);
  assert.ok(done.steps.some((x: { phase: string; step: string }) => x.phase === 'rollback' && x.step === 'remove-files'));
});

test('a restart has nothing to roll back: the decision is refused with why', async () => {
  // n1 went down in the tests above, and may still be marked UNREACHABLE until its next check.
  const id = await deployExporter(['n0', 'n2']);
  assert.equal((await s.waitFor(id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  await s.fleet.stopHost(2);
  const res = await s.call('POST', '/api/v1/clusters/ops/services/node-exporter/actions', { action: 'restart', hosts: ['n2'] });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const held = await s.waitFor(res.body.operation.id, ['HOLDING', 'FAILED', 'SUCCEEDED']);
  assert.equal(held.status, 'HOLDING');
  const refused = await decide(res.body.operation.id, 'rollback');
  assert.equal(refused.status, 409);
  assert.match(refused.body.detail, /nothing to undo/);
  await s.fleet.startHost(2);
  assert.equal((await decide(res.body.operation.id, 'retry')).status, 202);
  assert.equal((await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
  await removeExporter();
});

test('cancel during a long step kills the remote process and ends CANCELLED', async () => {
  const res = await s.call('POST', '/api/v1/clusters/ops/services', { service: 'sleeper', placement: { worker: ['n2'] } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const id = res.body.operation.id;
  await eventually(async () => (pgrep('sleep 3007').length > 0 ? true : undefined), 'the long start command to run on the host', 120_000);
  const cancel = await s.call('POST', `/api/v1/operations/${id}/cancel`);
  assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
  const done = await s.waitFor(id, ['CANCELLED', 'FAILED', 'SUCCEEDED'], 60_000);
  assert.equal(done.status, 'CANCELLED');
  await eventually(async () => (pgrep('sleep 3007').length === 0 ? true : undefined), 'the remote process to be gone', 15_000);
  const start = done.steps.find((x: { step: string }) => x.step === 'start');
  assert.equal(start.status, 'CANCELLED', JSON.stringify(start));
  assert.equal(
    (await s.call('GET', '/api/v1/clusters/ops/services/sleeper')).body.service.status,
    'FAILED',
    'a cancelled deploy leaves the service FAILED',
  );
});

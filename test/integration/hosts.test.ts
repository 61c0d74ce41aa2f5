import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import ssh2 from 'ssh2';
import { hostWorkflowIds } from '../../src/features/hosts/types.js';
import type { Config } from '../../src/platform/settings.js';
import { startFleet, type Fleet } from '../fleet/fleet.js';
import {
  createTestDatabase,
  eventually,
  startTestApi,
  startTestWorker,
  testConfig,
  type TestApi,
  type TestDatabase,
} from '../helpers/harness.js';
import type { RunningWorker } from '../../src/worker.js';
import { fleetBase } from './ssh/helpers.js';

let fleet: Fleet;
let db: TestDatabase;
let config: Config;
let api: TestApi;
let worker: RunningWorker;
let admin: string;
let operator: string;

// Hosts 0-4 form the main batch; 5 is frozen and 6 healthy for the failure batch.
const MAIN = [0, 1, 2, 3, 4];

before(async () => {
  fleet = await startFleet({ hosts: 7, baseAddress: fleetBase(21) });
  db = await createTestDatabase();
  config = testConfig(db, { SOPHON_SSH_CONNECT_TIMEOUT_SECONDS: '3' });
  worker = await startTestWorker(config, db.pool);
  api = await startTestApi(config, db);
  [admin, operator] = await Promise.all([api.token('admin'), api.token('operator')]);
  const cred = await api.call('POST', '/api/v1/credentials', {
    token: admin,
    body: { name: 'fleet', username: fleet.username, privateKey: fleet.clientKey },
  });
  assert.equal(cred.status, 201, JSON.stringify(cred.body));
  const cluster = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'lab' } });
  await finished(cluster.body.operation.id);
});

after(async () => {
  await api?.stop();
  await worker?.stop();
  await db?.drop();
  await fleet?.stop();
});

async function finished(operationId: string, timeoutMs = 90_000) {
  return eventually(
    async () => {
      const res = await api.call('GET', `/api/v1/operations/${operationId}`, { token: operator });
      return res.body.operation.finishedAt ? res.body.operation : undefined;
    },
    `operation ${operationId} to finish`,
    timeoutMs,
  );
}

const host = async (name: string) => (await api.call('GET', `/api/v1/clusters/lab/hosts/${name}`, { token: operator })).body;
const spec = (i: number, extra: Record<string, unknown> = {}) => ({
  hostname: `node${i}`,
  address: fleet.hosts[i]!.address,
  port: fleet.hosts[i]!.port,
  credential: 'fleet',
  installRoot: fleet.hosts[i]!.installRoot,
  ...extra,
});

/** A history as text, with payloads decoded (a history serializes as proto JSON, payload bytes in base64). */
const historyText = (history: unknown) =>
  JSON.stringify(history, (key, value: unknown) =>
    key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value,
  );

/**
 * Triggers the reachability schedule now and waits for the round it starts. Scheduled runs are
 * named by the second they start in, so two triggers within one second would collide.
 */
let lastTrigger = 0;
async function probeReachability() {
  await new Promise((r) => setTimeout(r, Math.max(0, lastTrigger + 1100 - Date.now())));
  lastTrigger = Date.now();
  const schedule = api.core.temporal.schedule.getHandle(hostWorkflowIds.hostReachabilitySchedule(config.temporal.taskQueue));
  const seen = (await schedule.describe()).info.recentActions.length;
  await schedule.trigger();
  const workflowId = await eventually(async () => {
    const actions = (await schedule.describe()).info.recentActions;
    return actions.length > seen ? actions.at(-1)!.action.workflow.workflowId : undefined;
  }, 'the schedule to start a reachability round');
  await api.core.temporal.workflow.getHandle(workflowId).result();
}

describe('credentials', () => {
  test('key material never comes back, and a bad key names the field', async () => {
    const list = await api.call('GET', '/api/v1/credentials', { token: admin });
    assert.equal(list.status, 200);
    assert.ok(!JSON.stringify(list.body).includes('PRIVATE KEY'));
    assert.match(list.body.credentials[0].publicKeyFingerprint, /^SHA256:/);
    const stored = await db.pool.query(`SELECT sealed_private_key FROM credentials WHERE name = 'fleet'`);
    assert.ok(!stored.rows[0].sealed_private_key.includes('PRIVATE KEY'), 'the key is encrypted at rest');

    const bad = await api.call('POST', '/api/v1/credentials', {
      token: admin,
      body: { name: 'bad', username: 'root', privateKey: 'not a key' },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].path, 'privateKey');
    const forbidden = await api.call('POST', '/api/v1/credentials', {
      token: operator,
      body: { name: 'x', username: 'root', privateKey: fleet.clientKey },
    });
    assert.equal(forbidden.status, 403);
  });
});

describe('bootstrap', () => {
  test('five hosts bootstrap in parallel: key pinned, facts gathered, install root created', async () => {
    const canary = path.join(fleet.dir, 'pwned');
    const hosts = MAIN.map((i) =>
      spec(i, i === 0 ? { labels: { rack: '`touch ' + canary + '`', 'zone.a': `$(touch ${canary});'"` } } : {}),
    );
    const res = await api.call('POST', '/api/v1/clusters/lab/hosts', { token: operator, body: { hosts } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal(res.body.hosts.length, 5);
    const op = await finished(res.body.operation.id);
    assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op.error));
    assert.equal(op.steps.length, 20);
    assert.ok(op.steps.every((s: { status: string }) => s.status === 'SUCCEEDED'));

    for (const i of MAIN) {
      const h = await host(`node${i}`);
      assert.equal(h.status, 'READY');
      assert.equal(h.hostKeyFingerprint, fleet.hosts[i]!.hostKeyFingerprint);
      assert.ok(h.facts.cpus >= 1);
      assert.match(h.facts.os.prettyName, /\S/);
      assert.equal(typeof h.facts.clockOffsetMs, 'number');
    }
    assert.ok(!existsSync(canary), 'shell metacharacters never execute');
    // Workflows carry credential ids only: no key material in the runs' histories.
    const keyLine = fleet.clientKey.split('\n')[1]!;
    // Per-host runs are named by host, carry a summary and the parent's search attributes.
    const childId = `${res.body.operation.workflowId}/node0`;
    const child = await api.core.temporal.workflow.getHandle(childId).describe();
    assert.deepEqual(child.searchAttributes.SophonCluster, ['lab']);
    assert.deepEqual(child.searchAttributes.SophonKind, ['operation']);
    assert.equal(await child.staticSummary(), 'bootstrap node0 in lab');
    const scheduled = (await api.core.temporal.workflow.getHandle(childId).fetchHistory()).events!.filter(
      (e) => e.activityTaskScheduledEventAttributes,
    );
    assert.deepEqual(
      scheduled.map((e) => e.userMetadata?.summary && defaultPayloadConverter.fromPayload(e.userMetadata.summary)),
      [undefined, ...['connect', 'facts', 'prerequisites', 'install-root'].map((step) => `node0 · bootstrap › ${step}`), undefined],
      'each step activity names its host and step (setHostStatus does not)',
    );
    for (const workflowId of [res.body.operation.workflowId, childId]) {
      const text = historyText(await api.core.temporal.workflow.getHandle(workflowId).fetchHistory());
      assert.ok(text.includes(res.body.hosts[0].id), 'payloads were decoded');
      assert.ok(!text.includes(keyLine) && !text.includes('PRIVATE KEY'), `key material in the history of ${workflowId}`);
    }
    assert.equal((await host('node0')).labels.rack, '`touch ' + canary + '`');
    assert.ok(existsSync(fleet.hosts[1]!.installRoot));
  });

  test('bootstrapping a READY host again is safe', async () => {
    const res = await api.call('POST', '/api/v1/clusters/lab/hosts/node1/repin-host-key', { token: admin });
    assert.equal(res.status, 202);
    assert.equal((await finished(res.body.operation.id)).status, 'SUCCEEDED');
    const h = await host('node1');
    assert.equal(h.status, 'READY');
    assert.equal(h.hostKeyFingerprint, fleet.hosts[1]!.hostKeyFingerprint);
  });

  test('adding an existing hostname → 409; a bad range or install root → 400 with the field path', async () => {
    const dup = await api.call('POST', '/api/v1/clusters/lab/hosts', { token: operator, body: { hosts: [spec(1)] } });
    assert.equal(dup.status, 409);
    assert.match(dup.body.detail, /already has node1/);
    const bad = await api.call('POST', '/api/v1/clusters/lab/hosts', {
      token: operator,
      body: { hosts: [{ hostname: 'r[1-3]', address: '127.0.0.[1-2]', credential: 'fleet' }] },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].path, 'hosts.0.address');
    const odd = await api.call('POST', '/api/v1/clusters/lab/hosts', {
      token: operator,
      body: { hosts: [spec(1, { hostname: 'odd' }), spec(2, { hostname: 'odder', installRoot: '/opt/a b;touch /tmp/x' })] },
    });
    assert.equal(odd.status, 400);
    assert.deepEqual(
      odd.body.errors.map((e: { path: string }) => e.path),
      ['hosts.1.installRoot'],
    );
  });

  test('unreachable and hung hosts fail with the reason while a healthy host in the batch finishes', async () => {
    fleet.pauseHost(5);
    try {
      const res = await api.call('POST', '/api/v1/clusters/lab/hosts', {
        token: operator,
        body: { hosts: [spec(6), spec(5), { hostname: 'ghost', address: '127.0.21.99', port: fleet.hosts[0]!.port, credential: 'fleet' }] },
      });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const op = await finished(res.body.operation.id, 150_000);
      assert.equal(op.status, 'FAILED');
      assert.equal(op.error.code, 'HOSTS_FAILED');
      assert.match(op.error.message, /2 of 3 hosts failed/);

      assert.equal((await host('node6')).status, 'READY');
      const ghost = await host('ghost');
      assert.equal(ghost.status, 'FAILED');
      assert.match(ghost.statusReason, /127\.0\.21\.99/);
      const hung = await host('node5');
      assert.equal(hung.status, 'FAILED');
      assert.match(hung.statusReason, /did not complete the SSH handshake within 3000 ms/);
      const connectSteps = op.steps.filter((s: { step: string; host: string }) => s.step === 'connect' && s.host !== 'node6');
      assert.ok(
        connectSteps.every((s: { attempt: number; status: string }) => s.attempt === 4 && s.status === 'FAILED'),
        JSON.stringify(connectSteps),
      );
    } finally {
      fleet.resumeHost(5);
    }
  });

  test('a bootstrap stuck on a hung host can be cancelled; the host says so', async () => {
    fleet.pauseHost(5);
    try {
      const res = await api.call('POST', '/api/v1/clusters/lab/hosts', {
        token: operator,
        body: { hosts: [{ ...spec(5), hostname: 'stuck' }] },
      });
      assert.equal(res.status, 202);
      await eventually(async () => ((await host('stuck')).status === 'BOOTSTRAPPING' ? true : undefined), 'the bootstrap to start');
      const busy = await api.call('POST', '/api/v1/clusters/lab/hosts/stuck/repin-host-key', { token: admin });
      assert.equal(busy.status, 409);
      assert.match(busy.body.detail, /stuck is being bootstrapped/);
      assert.equal((await api.call('DELETE', '/api/v1/clusters/lab/hosts/stuck', { token: operator })).status, 409);
      const cancel = await api.call('POST', `/api/v1/operations/${res.body.operation.id}/cancel`, { token: operator });
      assert.equal(cancel.status, 202);
      const op = await finished(res.body.operation.id);
      assert.equal(op.status, 'CANCELLED');
      const stuck = await host('stuck');
      assert.equal(stuck.status, 'FAILED');
      assert.equal(stuck.statusReason, 'bootstrap cancelled by request');
      const again = await api.call('POST', `/api/v1/operations/${res.body.operation.id}/cancel`, { token: operator });
      assert.equal(again.status, 409);
    } finally {
      fleet.resumeHost(5);
    }
  });

  test('a failing command keeps its exit code and output on the step', async () => {
    const blocker = path.join(fleet.hosts[6]!.installRoot, 'not-a-dir');
    writeFileSync(blocker, 'a file where a directory should be');
    const res = await api.call('POST', '/api/v1/clusters/lab/hosts', {
      token: operator,
      body: { hosts: [{ ...spec(6), hostname: 'blocked', installRoot: `${blocker}/sophon` }] },
    });
    const op = await finished(res.body.operation.id);
    assert.equal(op.status, 'FAILED');
    const step = op.steps.find((s: { step: string }) => s.step === 'install-root');
    assert.equal(step.status, 'FAILED');
    assert.equal(step.exitCode, 1);
    assert.equal(step.attempt, 1, 'a failing command is not retried blindly');
    assert.match(step.stderrTail, /mkdir: .*not-a-dir/);
    assert.match((await host('blocked')).statusReason, /exited with 1/);
  });

  test('a private key the host does not accept fails at once, naming user and host', async () => {
    const { private: otherKey } = ssh2.utils.generateKeyPairSync('ed25519');
    const cred = await api.call('POST', '/api/v1/credentials', {
      token: admin,
      body: { name: 'stranger', username: fleet.username, privateKey: otherKey },
    });
    assert.equal(cred.status, 201);
    const res = await api.call('POST', '/api/v1/clusters/lab/hosts', {
      token: operator,
      body: { hosts: [{ ...spec(2), hostname: 'wrong-key', credential: 'stranger' }] },
    });
    const op = await finished(res.body.operation.id);
    assert.equal(op.status, 'FAILED');
    const step = op.steps.find((s: { step: string }) => s.step === 'connect');
    assert.equal(step.attempt, 1, 'authentication refused is not retried');
    const h = await host('wrong-key');
    assert.equal(h.status, 'FAILED');
    assert.ok(h.statusReason.includes(`${fleet.username}@${fleet.hosts[2]!.address}`), h.statusReason);
  });
});

describe('after bootstrap', () => {
  test('the periodic check marks a stopped host UNREACHABLE and READY again', async () => {
    await fleet.stopHost(3);
    await probeReachability();
    const down = await host('node3');
    assert.equal(down.status, 'UNREACHABLE');
    await fleet.startHost(3);
    await probeReachability();
    assert.equal((await host('node3')).status, 'READY');
  });

  test('a swapped host key is refused as impersonation until re-pinned', async () => {
    const newKey = await fleet.swapHostKey(4);
    await probeReachability();
    const h = await host('node4');
    assert.equal(h.status, 'UNREACHABLE');
    assert.match(h.statusReason, /host key changed — possible impersonation/);
    const repin = await api.call('POST', '/api/v1/clusters/lab/hosts/node4/repin-host-key', { token: admin });
    assert.equal((await finished(repin.body.operation.id)).status, 'SUCCEEDED');
    const after = await host('node4');
    assert.equal(after.status, 'READY');
    assert.equal(after.hostKeyFingerprint, newKey);
  });

  test('labels and maintenance can be changed; a host running instances cannot be deleted', async () => {
    const patched = await api.call('PATCH', '/api/v1/clusters/lab/hosts/node2', {
      token: operator,
      body: { labels: { rack: 'r1' }, maintenance: true },
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.labels, { rack: 'r1' });
    assert.equal(patched.body.maintenance, true);

    const node2 = await host('node2');
    await db.pool.query(
      `INSERT INTO role_instances (id, cluster_id, service, role, host_id) SELECT gen_random_uuid(), cluster_id, 'zookeeper', 'server', id FROM hosts WHERE id = $1`,
      [node2.id],
    );
    const refused = await api.call('DELETE', '/api/v1/clusters/lab/hosts/node2', { token: operator });
    assert.equal(refused.status, 409);
    assert.match(refused.body.detail, /still runs zookeeper\/server/);
    await db.pool.query(`DELETE FROM role_instances WHERE host_id = $1`, [node2.id]);
    assert.equal((await api.call('DELETE', '/api/v1/clusters/lab/hosts/node2', { token: operator })).status, 204);
    assert.equal((await api.call('GET', '/api/v1/clusters/lab/hosts/node2', { token: operator })).status, 404);
  });
});

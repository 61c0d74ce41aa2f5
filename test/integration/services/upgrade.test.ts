/**
 * Rolling upgrades on a real sshd fleet with the real Debian builds of ZooKeeper and Redis:
 * bad input refused with no operation, an upgrade to the installed version that says so, a
 * clean upgrade with quorum kept and versions moving host by host, a downgrade, a pre-check
 * failure that changes nothing, and a host lost mid-way → HOLDING → rollback → every host back
 * on the old build with the ensemble (or the replication) whole.
 */
import assert from 'node:assert/strict';
import { existsSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../../helpers/harness.js';
import { modeOf, pgrep, sampleEvery, srvr, startStack, type OperationStep, type Stack } from './helpers.js';

let s: Stack;
const ZK_OLD = '3.8.0-deb12u1';
const ZK_NEW = '3.8.0-deb12u2';
const REDIS_OLD = '7.0.15-deb12u7';
const REDIS_NEW = '7.0.15-deb12u10';
const CLIENT_PORT = 12381;
const REDIS_PORT = 16391;
const SERVERS = ['n0', 'n1', 'n2'];
const ZK = '/api/v1/clusters/up/services/zookeeper';
const REDIS = '/api/v1/clusters/up/services/redis';

before(async () => {
  // Hosts go down on purpose; the reachability check must not mark them UNREACHABLE meanwhile.
  s = await startStack({ hosts: 3, block: 53, cluster: 'up', env: { SOPHON_HOST_CHECK_INTERVAL_SECONDS: '3600' } });
});
after(async () => {
  // What a failed test left running on the hosts (this machine) would answer the next run.
  for (const h of s?.fleet.hosts ?? []) {
    for (const pid of pgrep(`${h.installRoot}/`)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }
  await s?.stop();
});

const index = (hostname: string) => Number(hostname.slice(1));
const address = (hostname: string) => s.fleet.hosts[index(hostname)]!.address;
const installRoot = (hostname: string) => s.fleet.hosts[index(hostname)]!.installRoot;
const currentOf = (hostname: string, service: string) => readlinkSync(path.join(installRoot(hostname), service, 'current'));
const modes = async () => Promise.all(SERVERS.map(async (h) => modeOf(await srvr(address(h), CLIENT_PORT))));
const operationCount = async () => (await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length;
const serviceView = async (p: string) => (await s.call('GET', p)).body.service;

async function upgrade(p: string, body: Record<string, unknown>): Promise<string> {
  const res = await s.call('POST', `${p}/upgrade`, body);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal(res.body.operation.type, 'service.upgrade');
  return res.body.operation.id;
}

/** Checks that the service and each instance run `version`, and each host's `current` link points at it. */
async function assertOn(p: string, service: string, version: string) {
  const svc = await serviceView(p);
  assert.equal(svc.version, version);
  assert.equal(svc.targetVersion, version);
  for (const i of svc.instances) {
    assert.equal(i.version, version, `${i.role}@${i.host} runs ${version}`);
    assert.equal(i.observedState, 'RUNNING', `${i.role}@${i.host} runs`);
    assert.equal(currentOf(i.host, service), version, `current on ${i.host} points at ${version}`);
  }
}

/** Samples ZooKeeper's modes and the instances' recorded versions until stopped. */
const sampler = () =>
  sampleEvery(async () => {
    const [m, svc] = await Promise.all([modes(), serviceView(ZK)]);
    // Stamped once both answers are in, as this test's windows expect.
    return { at: Date.now(), modes: m, upgraded: svc.instances.filter((i: { version: string }) => i.version === ZK_NEW).length };
  });

/** Redis's own `INFO replication` over its protocol, as key → value; {} while it does not answer it. */
function replicationOf(hostname: string): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    let out = '';
    const socket = connect({ host: address(hostname), port: REDIS_PORT, timeout: 3000 }, () => socket.write('INFO replication\r\n'));
    const done = (info: Record<string, string>) => (socket.destroy(), resolve(info));
    socket.on('data', (d) => {
      out += d;
      if (out.startsWith('-') && out.includes('\r\n')) return done({}); // e.g. LOADING while a replica syncs
      const m = /^\$(\d+)\r\n/.exec(out);
      if (m && Buffer.byteLength(out) >= m[0].length + Number(m[1])) {
        done(
          Object.fromEntries(
            out
              .slice(m[0].length)
              .split('\r\n')
              .filter((l) => l.includes(':'))
              .map((l) => l.split(':', 2) as [string, string]),
          ),
        );
      }
    });
    socket.on('timeout', () => done({}));
    socket.on('error', () => done({}));
  });
}

/** The master on n0 has its replica on n1 connected, and the replica's link is up. */
async function assertReplication() {
  let seen: unknown;
  await eventually(
    async () => {
      const [master, replica] = await Promise.all([replicationOf('n0'), replicationOf('n1')]);
      seen = { master, replica };
      return master.role === 'master' && master.connected_slaves === '1' && replica.role === 'slave' && replica.master_link_status === 'up'
        ? true
        : undefined;
    },
    'the replica on n1 to replicate from the master on n0',
    60_000,
  ).catch((err: Error) => assert.fail(`${err.message}; last INFO: ${JSON.stringify(seen)}`));
  const replica = await replicationOf('n1');
  assert.equal(replica.master_host, address('n0'));
  assert.equal(replica.master_port, String(REDIS_PORT));
}

/**
 * Starts an upgrade to `to` with batch 1, stops host `victim(firstBatchHost)` once the first
 * batch is done, expects HOLDING on it, brings it back and rolls back; returns the operation.
 */
async function upgradeWithHostLost(p: string, to: string, victim: (firstBatchHost: string) => Promise<string>) {
  const id = await upgrade(p, { version: to, batchSize: 1, pauseSeconds: 10 });
  const first = await eventually(
    async () => {
      const steps = await s.steps(id);
      const health = steps.find((x) => x.phase === 'upgrade batch 1' && x.step === 'health' && x.status === 'SUCCEEDED');
      if (health) return health.host;
      const op = (await s.call('GET', `/api/v1/operations/${id}`)).body.operation;
      assert.ok(['PENDING', 'RUNNING'].includes(op.status), `the upgrade runs: ${JSON.stringify(op)}`);
      return undefined;
    },
    'the first batch to be done',
    180_000,
  );
  const down = await victim(first);
  await s.fleet.stopHost(index(down));
  const held = await s.waitFor(id, ['HOLDING', 'SUCCEEDED', 'FAILED']);
  assert.equal(held.status, 'HOLDING', JSON.stringify(held));
  assert.equal(held.holding.length, 1);
  assert.equal(held.holding[0].host, down, `holds on ${down}: ${JSON.stringify(held.holding)}`);
  assert.match(held.holding[0].reason, new RegExp(`${down}|${address(down).replace(/\./g, '\\.')}`));
  assert.equal(held.canRollback, true);
  assert.equal((await serviceView(p)).instances.find((i: { host: string }) => i.host === first).version, to, `${first} was upgraded`);

  await s.fleet.startHost(index(down));
  const decided = await s.call('POST', `/api/v1/operations/${id}/decision`, { action: 'rollback' });
  assert.equal(decided.status, 202, JSON.stringify(decided.body));
  const done = await s.waitFor(id, ['ROLLED_BACK', 'FAILED', 'SUCCEEDED', 'HOLDING'], 300_000);
  assert.equal(done.status, 'ROLLED_BACK', JSON.stringify(done));
  // Last upgraded first: the held host, then the first batch's.
  const rollbackStops = done.steps
    .filter((x: OperationStep) => x.phase.startsWith('rollback') && x.step === 'stop')
    .map((x: OperationStep) => x.host);
  assert.deepEqual(rollbackStops, [down, first]);
  return { id, first, down, done };
}

test('bad upgrade requests are refused with the field path, and no operation is recorded', async () => {
  for (const h of SERVERS)
    assert.equal(await srvr(address(h), CLIENT_PORT), '', `nothing answers on ${h}:${CLIENT_PORT} before the deploy`);
  const deploy = await s.call('POST', '/api/v1/clusters/up/services', {
    service: 'zookeeper',
    version: ZK_OLD,
    placement: { server: SERVERS },
    config: { clientPort: CLIENT_PORT, adminPort: 18381, heapMb: 128 },
  });
  assert.equal(deploy.status, 202, JSON.stringify(deploy.body));
  assert.equal((await s.waitFor(deploy.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  await assertOn(ZK, 'zookeeper', ZK_OLD);

  const before = await operationCount();
  const cases: Array<[unknown, number, string]> = [
    [{ version: '9.9.9' }, 400, 'version'],
    [{}, 400, 'version'],
    [{ version: 7 }, 400, 'version'],
    [{ version: ZK_NEW, batchSize: 0 }, 400, 'batchSize'],
    [{ version: ZK_NEW, maxFailures: -1 }, 400, 'maxFailures'],
    [{ version: ZK_NEW, pauseSeconds: 'soon' }, 400, 'pauseSeconds'],
  ];
  for (const [body, status, field] of cases) {
    const res = await s.call('POST', `${ZK}/upgrade`, body);
    assert.equal(res.status, status, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
    assert.match(res.type, /problem\+json/);
    assert.ok(
      res.body.errors.some((e: { path: string }) => e.path === field),
      `${field} named in ${JSON.stringify(res.body.errors)}`,
    );
  }
  assert.equal((await s.call('POST', '/api/v1/clusters/up/services/nosuch/upgrade', { version: ZK_NEW })).status, 404);
  assert.equal(await operationCount(), before, 'no operation was created');
  assert.equal((await serviceView(ZK)).targetVersion, ZK_OLD);
});

test('an upgrade to the installed version is a no-op that says so', async () => {
  const id = await upgrade(ZK, { version: ZK_OLD });
  const op = await s.waitFor(id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.result.nothingToDo, true);
  assert.match(op.result.message, /nothing to do/);
  assert.deepEqual(op.steps, [], 'no host was touched');
});

test('ZooKeeper upgrades deb12u1 → deb12u2 with batch 1: quorum kept, versions move host by host, the leader last', async () => {
  const before = await modes();
  assert.deepEqual([...before].sort(), ['follower', 'follower', 'leader']);
  const leader = SERVERS[before.indexOf('leader')]!;
  const sampling = sampler();
  const op = await (async () => {
    const id = await upgrade(ZK, { version: ZK_NEW, batchSize: 1 });
    const second = await s.call('POST', `${ZK}/actions`, { action: 'restart' });
    assert.equal(second.status, 409, 'one operation per service at a time');
    return s.waitFor(id, ['SUCCEEDED', 'FAILED', 'HOLDING'], 300_000);
  })().finally(() => sampling.stop());
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.result.batches, 3);
  assert.deepEqual(
    [...op.result.upgraded].sort(),
    SERVERS.map((h) => `server@${h}`),
  );

  const steps = op.steps as OperationStep[];
  assert.ok(steps.some((x) => x.phase === 'pre-checks' && x.step === 'reachable' && x.status === 'SUCCEEDED'));
  const last = steps.filter((x) => x.phase === 'upgrade batch 3');
  assert.ok(last.length > 0 && last.every((x) => x.host === leader), `the leader ${leader} is upgraded last: ${JSON.stringify(last)}`);
  for (const h of SERVERS) {
    assert.deepEqual(
      steps.filter((x) => x.host === h && x.phase.startsWith('upgrade')).map((x) => `${x.step}:${x.status}`),
      ['stop:SUCCEEDED', 'install:SUCCEEDED', 'configure:SUCCEEDED', 'start:SUCCEEDED', 'health:SUCCEEDED'],
      `${h} went through every step`,
    );
    assert.ok(existsSync(path.join(installRoot(h), 'zookeeper', ZK_OLD, 'bin/zkServer.sh')), `the old version stays on ${h}`);
  }
  await assertOn(ZK, 'zookeeper', ZK_NEW);

  const { samples } = sampling;
  assert.ok(samples.length > 10, `sampled ${samples.length} times`);
  const leaderStop = Date.parse(last.find((x) => x.step === 'stop')!.startedAt);
  for (const sample of samples) {
    const up = sample.modes.filter((m) => m !== 'down').length;
    assert.ok(up >= 2, `a majority is up at ${new Date(sample.at).toISOString()}: ${sample.modes}`);
    if (sample.at < leaderStop - 500) {
      const serving = sample.modes.filter((m) => m === 'leader' || m === 'follower').length;
      assert.ok(serving >= 2, `a majority serves at ${new Date(sample.at).toISOString()}: ${sample.modes}`);
    }
  }
  // instances[].version moves one host at a time, never back.
  const counts = samples.map((x) => x.upgraded);
  assert.ok(
    counts.every((c, k) => k === 0 || c >= counts[k - 1]!),
    `versions only move forward: ${counts}`,
  );
  for (const c of [1, 2]) assert.ok(counts.includes(c), `seen with ${c} of 3 upgraded: ${[...new Set(counts)]}`);
  const final = await modes();
  assert.deepEqual([...final].sort(), ['follower', 'follower', 'leader'], `after the upgrade: ${final}`);
});

test('a downgrade is an upgrade to an older version', async () => {
  const id = await upgrade(ZK, { version: ZK_OLD });
  const op = await s.waitFor(id, ['SUCCEEDED', 'FAILED', 'HOLDING'], 300_000);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  await assertOn(ZK, 'zookeeper', ZK_OLD);
  assert.deepEqual([...(await modes())].sort(), ['follower', 'follower', 'leader']);
});

test('a failed pre-check fails the operation naming what failed, before anything changes', async () => {
  await s.fleet.stopHost(2);
  try {
    const id = await upgrade(ZK, { version: ZK_NEW });
    const op = await s.waitFor(id, ['FAILED', 'SUCCEEDED', 'HOLDING']);
    assert.equal(op.status, 'FAILED', JSON.stringify(op));
    assert.equal(op.error.code, 'PRECHECK_FAILED');
    assert.match(op.error.message, /nothing was changed/);
    assert.match(op.error.message, /n2 is unreachable/);
    assert.doesNotMatch(op.error.message, /n0 is|n1 is/, 'only n2 failed its pre-checks');
    assert.ok(
      op.steps.every((x: OperationStep) => x.phase === 'pre-checks'),
      `only pre-checks ran: ${JSON.stringify(op.steps.map((x: OperationStep) => x.phase))}`,
    );
  } finally {
    await s.fleet.startHost(2);
  }
  await assertOn(ZK, 'zookeeper', ZK_OLD);
});

test('ZooKeeper: a host lost after the first batch → HOLDING on it → rollback puts every host back on deb12u1, the ensemble whole', async () => {
  const sampling = sampler();
  const { first, down, done } = await upgradeWithHostLost(ZK, ZK_NEW, async (firstHost) => {
    const leader = SERVERS[(await modes()).indexOf('leader')];
    return SERVERS.find((h) => h !== firstHost && h !== leader)!;
  }).finally(() => sampling.stop());
  assert.deepEqual(done.result.rolledBack.restored, [`server@${down}: ${ZK_OLD}`, `server@${first}: ${ZK_OLD}`]);
  await assertOn(ZK, 'zookeeper', ZK_OLD);
  await eventually(
    async () => {
      const m = await modes();
      return [...m].sort().join() === 'follower,follower,leader' ? true : undefined;
    },
    'one leader and two followers',
    60_000,
  );
  for (const sample of sampling.samples) {
    const serving = sample.modes.filter((m) => m === 'leader' || m === 'follower').length;
    assert.ok(serving >= 2, `a majority serves at ${new Date(sample.at).toISOString()}: ${sample.modes}`);
  }
});

test('Redis master + replica upgrade deb12u7 → deb12u10 and back (replica first), replication intact', async () => {
  for (const h of ['n0', 'n1']) assert.deepEqual(await replicationOf(h), {}, `nothing answers on ${h}:${REDIS_PORT} before the deploy`);
  const deploy = await s.call('POST', '/api/v1/clusters/up/services', {
    service: 'redis',
    version: REDIS_OLD,
    placement: { master: ['n0'], replica: ['n1'] },
    config: { port: REDIS_PORT },
  });
  assert.equal(deploy.status, 202, JSON.stringify(deploy.body));
  assert.equal((await s.waitFor(deploy.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  await assertReplication();

  const id = await upgrade(REDIS, { version: REDIS_NEW });
  const op = await s.waitFor(id, ['SUCCEEDED', 'FAILED', 'HOLDING'], 300_000);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.deepEqual(op.result.upgraded, ['replica@n1', 'master@n0'], 'the replica goes first');
  await assertOn(REDIS, 'redis', REDIS_NEW);
  await assertReplication();
  assert.match((await replicationOf('n0')).role!, /master/);

  const down = await upgrade(REDIS, { version: REDIS_OLD });
  assert.equal((await s.waitFor(down, ['SUCCEEDED', 'FAILED', 'HOLDING'], 300_000)).status, 'SUCCEEDED');
  await assertOn(REDIS, 'redis', REDIS_OLD);
  await assertReplication();
});

test('Redis: the master host lost after the replica is upgraded → HOLDING → rollback, both back on deb12u7 and replicating', async () => {
  const { first, down, done } = await upgradeWithHostLost(REDIS, REDIS_NEW, async () => 'n0');
  assert.equal(first, 'n1');
  assert.equal(down, 'n0');
  assert.deepEqual(done.result.rolledBack.restored, [`master@n0: ${REDIS_OLD}`, `replica@n1: ${REDIS_OLD}`]);
  await assertOn(REDIS, 'redis', REDIS_OLD);
  await assertReplication();
});

test('removing both services leaves no process and no files behind', async () => {
  for (const p of [REDIS, ZK]) {
    const res = await s.call('DELETE', p);
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  }
  for (const h of SERVERS) {
    assert.deepEqual(pgrep(`${installRoot(h)}/`), [], `nothing runs from ${h}'s install root`);
    assert.equal(existsSync(path.join(installRoot(h), 'zookeeper')), false);
    assert.equal(existsSync(path.join(installRoot(h), 'redis')), false);
  }
});

/**
 * Scaling a real ZooKeeper ensemble (static config, no dynamic reconfig) on a real sshd fleet:
 * 3 → 5 → 3 with the definition's membership rule. After each change every server's zoo.cfg
 * lists exactly the current servers with unchanged ids, srvr shows one leader and the rest
 * followers, and sampling srvr throughout shows a serving majority and never two leaders.
 * Bad requests are refused with the field path and no operation.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { modeOf, pgrep, sampleEvery, srvr, startStack, type OperationStep, type Stack } from './helpers.js';

let s: Stack;
const CLIENT_PORT = 22181;
const HOSTS = ['n0', 'n1', 'n2', 'n3', 'n4'];
const SCALE = '/api/v1/clusters/zs/services/zookeeper/scale';

before(async () => {
  s = await startStack({ hosts: 5, block: 55, cluster: 'zs' });
});
after(async () => {
  // ZooKeeper daemonizes and outlives the fleet's sshd: stop the servers this test leaves running.
  if (s) for (const h of HOSTS) for (const pid of pgrep(`${installRoot(h)}/zookeeper/conf/server`)) process.kill(pid, 'SIGKILL');
  await s?.stop();
});

const hostIndex = (h: string) => Number(h.slice(1));
const address = (h: string) => s.fleet.hosts[hostIndex(h)]!.address;
const installRoot = (h: string) => s.fleet.hosts[hostIndex(h)]!.installRoot;
const modes = () => Promise.all(HOSTS.map(async (h) => modeOf(await srvr(address(h), CLIENT_PORT))));
const operationCount = async () => (await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length;
const zooCfg = (h: string) => readFileSync(path.join(installRoot(h), 'zookeeper/conf/server/zoo.cfg'), 'utf8');
const myid = (h: string) => readFileSync(path.join(installRoot(h), 'zookeeper/data/server/myid'), 'utf8').trim();
/** The `server.N=address:peer:election` lines of a zoo.cfg, sorted. */
const serverLines = (cfg: string) =>
  cfg
    .split('\n')
    .filter((l) => l.startsWith('server.'))
    .sort();
const expectedLines = (members: Record<string, number>) =>
  Object.entries(members)
    .map(([h, id]) => `server.${id}=${address(h)}:2888:3888`)
    .sort();

/** srvr of every host every 200 ms until stopped. */
const sampler = () => sampleEvery(async () => ({ modes: await modes() }));

/** From a step's start to a later step's end on the same host and phase: when leadership changes hands. */
function window(steps: OperationStep[], phase: string): [number, number] | undefined {
  const stop = steps.find((x) => x.phase === phase && x.step === 'stop');
  const health = steps.find((x) => x.phase === phase && x.step === 'health');
  if (!stop || !health) return undefined;
  return [Date.parse(stop.startedAt!) - 500, Date.parse(health.finishedAt!) + 500];
}

/** No sample has two leaders; outside the windows where the leader itself restarts, a majority of `quorum` serves under one leader. */
function assertQuorumKept(samples: Array<{ at: number; modes: string[] }>, quorum: number, elections: Array<[number, number]>) {
  assert.ok(samples.length > 10, `sampled ${samples.length} times`);
  for (const sample of samples) {
    const at = new Date(sample.at).toISOString();
    const leaders = sample.modes.filter((m) => m === 'leader').length;
    assert.ok(leaders <= 1, `never two leaders: ${sample.modes} at ${at}`);
    if (elections.some(([from, to]) => sample.at >= from && sample.at <= to)) continue;
    const serving = sample.modes.filter((m) => m === 'leader' || m === 'follower').length;
    assert.ok(leaders === 1 && serving >= quorum, `a majority (${quorum}) serves under one leader at ${at}: ${sample.modes}`);
  }
}

async function expectRefused(body: unknown, status: number, field: string) {
  const res = await s.call('POST', SCALE, body);
  assert.equal(res.status, status, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
  assert.match(res.type, /problem\+json/);
  assert.ok(
    res.body.errors.some((e: { path: string }) => e.path === field),
    `${field} named in ${JSON.stringify(res.body.errors)}`,
  );
}

test('a 3-server ensemble deploys; bad scale requests are refused with the field path and no operation', async () => {
  const res = await s.call('POST', '/api/v1/clusters/zs/services', {
    service: 'zookeeper',
    placement: { server: ['n0', 'n1', 'n2'] },
    config: { clientPort: CLIENT_PORT, adminPort: 28080, heapMb: 128 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const deployed = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'], 600_000);
  assert.equal(deployed.status, 'SUCCEEDED', JSON.stringify(deployed));

  const before = await operationCount();
  await expectRefused({ role: 'server', remove: ['n3'] }, 400, 'remove.0');
  await expectRefused({ role: 'server', add: ['ghost', 'n4'] }, 422, 'add.0');
  await expectRefused({ role: 'server', add: ['n3'] }, 422, 'add');
  await expectRefused({ role: 'server', remove: ['n1'] }, 422, 'remove');
  await expectRefused({ role: 'server', remove: ['n0', 'n1'] }, 422, 'remove');
  await expectRefused({ role: 'server', add: ['n1'] }, 400, 'add.0');
  await expectRefused({ role: 'server', add: ['n3', 'n3'] }, 400, 'add.1');
  await expectRefused({ role: 'nosuch', add: ['n3'] }, 400, 'role');
  await expectRefused({ role: 'server' }, 400, 'add');
  await expectRefused({ role: 'server', add: 'n3' }, 400, 'add');
  assert.equal((await s.call('POST', '/api/v1/clusters/zs/services/nosuch/scale', { role: 'server', add: ['n3'] })).status, 404);
  assert.equal(await operationCount(), before, 'no operation was created');
  assert.equal((await s.call('GET', '/api/v1/clusters/zs/services/zookeeper')).body.service.instances.length, 3);
});

test('3 → 5: the new servers join, the old ones roll onto the 5-server list, quorum kept throughout', async () => {
  const leader = HOSTS[(await modes()).indexOf('leader')]!;
  const watch = sampler();
  const res = await s.call('POST', SCALE, { role: 'server', add: ['n3', 'n4'] });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.match(res.body.operation.workflowId, /^scale\/zs\/zookeeper\//);
  const second = await s.call('POST', SCALE, { role: 'server', remove: ['n3', 'n4'] });
  assert.equal(second.status, 409, 'one operation per service at a time');
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'], 600_000);
  const samples = await watch.stop();
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.deepEqual(op.result.added, ['n3', 'n4']);

  const steps = await s.steps(op.id);
  const rolled = steps.filter((x) => x.phase.startsWith('join: roll peers') && x.step === 'stop');
  assert.deepEqual(rolled.map((x) => x.host).sort(), ['n0', 'n1', 'n2'], 'the old servers are rolled');
  assert.equal(rolled.at(-1)!.host, leader, `the leader ${leader} rolls last`);
  // The new servers joined before any old one stopped.
  const joined = steps.filter((x) => x.phase === 'start' && x.step === 'health').map((x) => Date.parse(x.finishedAt!));
  assert.ok(Math.max(...joined) <= Date.parse(rolled[0]!.startedAt!), 'new servers run before the peers roll');
  assertQuorumKept(samples, 2, [window(steps, rolled.at(-1)!.phase)!]);

  const m = await modes();
  assert.deepEqual([...m].sort(), ['follower', 'follower', 'follower', 'follower', 'leader'], `srvr modes: ${m}`);
  const members = { n0: 1, n1: 2, n2: 3, n3: 4, n4: 5 };
  for (const h of HOSTS) {
    assert.deepEqual(serverLines(zooCfg(h)), expectedLines(members), `zoo.cfg of ${h}`);
    assert.equal(myid(h), String(members[h as keyof typeof members]), `myid of ${h}`);
  }
  const svc = (await s.call('GET', '/api/v1/clusters/zs/services/zookeeper')).body.service;
  assert.deepEqual(svc.instances.map((i: { host: string }) => i.host).sort(), HOSTS);
  assert.ok(svc.instances.every((i: { observedState: string }) => i.observedState === 'RUNNING'));
});

test('bad scale-ins of the 5 are refused: below the count, even, too many at once', async () => {
  const before = await operationCount();
  await expectRefused({ role: 'server', remove: ['n0'] }, 422, 'remove');
  await expectRefused({ role: 'server', remove: ['n0', 'n1', 'n2'] }, 422, 'remove');
  await expectRefused({ role: 'server', remove: ['n0', 'n1', 'n2', 'n3', 'n4'] }, 422, 'remove');
  assert.equal(await operationCount(), before, 'no operation was created');
});

test('5 → 3 removing the leader and a server in the middle: survivors keep their ids, quorum kept throughout', async () => {
  const leader = HOSTS[(await modes()).indexOf('leader')]!;
  const other = ['n1', 'n2', 'n3'].find((h) => h !== leader)!;
  const removed = [leader, other];
  const survivors = HOSTS.filter((h) => !removed.includes(h));
  const watch = sampler();
  const res = await s.call('POST', SCALE, { role: 'server', remove: removed });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'], 600_000);
  const samples = await watch.stop();
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.deepEqual([...op.result.removed].sort(), [...removed].sort());

  const steps = await s.steps(op.id);
  assert.ok(
    steps.some((x) => x.phase === 'move leadership' && x.host === leader && x.step === 'stop'),
    'the leaving leader hands over first',
  );
  const rolled = steps.filter((x) => x.phase.startsWith('leave: roll peers') && x.step === 'stop');
  assert.deepEqual(rolled.map((x) => x.host).sort(), survivors, 'the remaining servers are rolled');
  const decommissioned = steps.filter((x) => x.step.startsWith('decommission:')).map((x) => x.host);
  assert.deepEqual(decommissioned.sort(), [...removed].sort(), 'decommission steps ran on the leaving servers');
  assertQuorumKept(samples, 3, [window(steps, 'move leadership')!, window(steps, rolled.at(-1)!.phase)!]);

  const m = await Promise.all(survivors.map(async (h) => modeOf(await srvr(address(h), CLIENT_PORT))));
  assert.deepEqual([...m].sort(), ['follower', 'follower', 'leader'], `srvr modes: ${m}`);
  const ids: Record<string, number> = { n0: 1, n1: 2, n2: 3, n3: 4, n4: 5 };
  const members = Object.fromEntries(survivors.map((h) => [h, ids[h]!]));
  for (const h of survivors) {
    assert.deepEqual(serverLines(zooCfg(h)), expectedLines(members), `zoo.cfg of ${h}`);
    assert.equal(myid(h), String(ids[h]), `myid of ${h} unchanged`);
  }
  for (const h of removed) {
    assert.equal(pgrep(`${installRoot(h)}/zookeeper/conf/server`).length, 0, `no ZooKeeper left on ${h}`);
    assert.equal(existsSync(path.join(installRoot(h), 'zookeeper')), false, `files gone on ${h}`);
  }
  const svc = (await s.call('GET', '/api/v1/clusters/zs/services/zookeeper')).body.service;
  assert.deepEqual(svc.instances.map((i: { host: string }) => i.host).sort(), survivors);
});

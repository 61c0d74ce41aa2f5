/**
 * Supervised processes and once-only init steps on a real sshd fleet (the `seeded` test
 * definition runs node_exporter in the foreground): Sophon starts the process detached in its
 * own session and stops it by pid; `first` init runs once on the first instance, `others` only
 * after the first answers, `each` everywhere; a step that already happened is not run again,
 * not on restarts and not on scale-out. A host without the Java a definition needs is refused.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { alive, processPid, startStack, type Stack } from './helpers.js';

let s: Stack;

before(async () => {
  s = await startStack({ hosts: 4, block: 93, cluster: 'seed' });
});
after(async () => {
  await s?.stop();
});

const root = (h: string) => s.fleet.hosts[Number(h.slice(1))]!.installRoot;
const initLog = (h: string) => {
  const file = path.join(root(h), 'seeded/data/node/init.log');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
};
const pidOf = (h: string) => processPid(root(h), 'seeded', 'node');
const sessionOf = (pid: number) => Number(execFileSync('ps', ['-o', 'sid=', '-p', String(pid)], { encoding: 'utf8' }).trim());
const commandOf = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');

test('deploy: the first instance is seeded and running before the others join; each is marked; every process has its own session', async () => {
  const label = await s.call('PATCH', '/api/v1/clusters/seed/hosts/n1', { labels: { rack: '/r1' } });
  assert.equal(label.status, 200, JSON.stringify(label.body));
  const res = await s.call('POST', '/api/v1/clusters/seed/services', { service: 'seeded', placement: { node: ['n0', 'n1', 'n2'] } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));

  assert.deepEqual(initLog('n0'), ['seed', 'mark']);
  assert.deepEqual(initLog('n1'), ['join', 'mark']);
  assert.deepEqual(initLog('n2'), ['join', 'mark']);

  const steps = await s.steps(op.id);
  const at = (host: string, step: string) => steps.find((x) => x.host === host && x.step === step);
  for (const h of ['n1', 'n2']) {
    assert.ok(at(h, 'init: join'), `n1 and n2 ran join: ${JSON.stringify(steps.filter((x) => x.host === h))}`);
    assert.ok(Date.parse(at(h, 'init: join')!.startedAt) >= Date.parse(at('n0', 'health')!.finishedAt), 'join began after n0 was healthy');
    assert.equal(at(h, 'init: seed'), undefined, 'only the first instance is seeded');
  }
  assert.equal(at('n0', 'init: join'), undefined);

  for (const h of ['n0', 'n1', 'n2']) {
    const pid = pidOf(h);
    assert.ok(alive(pid), `${h}'s pid ${pid} runs`);
    assert.equal(sessionOf(pid), pid, `${h}'s process leads its own session`);
    assert.match(
      commandOf(pid),
      new RegExp(`node_exporter --web.listen-address=${s.fleet.hosts[Number(h.slice(1))]!.address.replace(/\./g, '\\.')}:19111`),
    );
  }
});

test('a rolling restart runs new processes and no init step again; stop ends every process', async () => {
  const before = ['n0', 'n1', 'n2'].map(pidOf);
  const res = await s.call('POST', '/api/v1/clusters/seed/services/seeded/actions', { action: 'restart', rolling: { batchSize: 1 } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  const after = ['n0', 'n1', 'n2'].map(pidOf);
  after.forEach((pid, i) => {
    assert.notEqual(pid, before[i]);
    assert.ok(alive(pid));
    assert.ok(!alive(before[i]!), `the old process ${before[i]} is gone`);
  });
  assert.deepEqual(initLog('n0'), ['seed', 'mark']);
  const steps = await s.steps(op.id);
  assert.ok(!steps.some((x) => x.step.startsWith('init:')));
  // The leader (the seeded n0) goes last, and hands off before it stops.
  const handoff = steps.find((x) => x.step === 'handoff');
  assert.equal(handoff?.host, 'n0', JSON.stringify(steps));
  const others = steps.filter((x) => x.host !== 'n0' && x.step === 'health');
  assert.ok(
    others.every((x) => Date.parse(x.finishedAt) <= Date.parse(handoff.startedAt)),
    'the followers rolled first',
  );
  const n0stop = steps.find((x) => x.host === 'n0' && x.step === 'stop')!;
  assert.ok(Date.parse(handoff.finishedAt) <= Date.parse(n0stop.startedAt), 'the handoff ran before the leader stopped');
  assert.equal(readFileSync(path.join(root('n0'), 'seeded/data/node/handoffs.log'), 'utf8'), 'handoff\n');

  const stop = await s.call('POST', '/api/v1/clusters/seed/services/seeded/actions', { action: 'stop' });
  assert.equal((await s.waitFor(stop.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
  for (const pid of after) assert.ok(!alive(pid), `stopped process ${pid} is gone`);
  const svc = (await s.call('GET', '/api/v1/clusters/seed/services/seeded')).body.service;
  assert.deepEqual(
    svc.instances.map((i: { observedState: string }) => i.observedState),
    ['STOPPED', 'STOPPED', 'STOPPED'],
  );
  const start = await s.call('POST', '/api/v1/clusters/seed/services/seeded/actions', { action: 'start' });
  assert.equal((await s.waitFor(start.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING'])).status, 'SUCCEEDED');
});

test('scale-out: the joining member runs the others and each steps, and one that already happened is recorded as done', async () => {
  // n3 already carries the mark (e.g. a run that crashed after it): mark must not run again.
  const data = path.join(root('n3'), 'seeded/data/node');
  mkdirSync(data, { recursive: true });
  writeFileSync(path.join(data, 'marked'), '');
  const res = await s.call('POST', '/api/v1/clusters/seed/services/seeded/scale', { role: 'node', add: ['n3'] });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.deepEqual(initLog('n3'), ['join']);
  const steps = (await s.steps(op.id)).filter((x) => x.step.startsWith('init:'));
  assert.deepEqual(steps.map((x) => `${x.host} ${x.step} ${x.status}`).sort(), ['n3 init: join SUCCEEDED', 'n3 init: mark SUCCEEDED']);
  assert.deepEqual(initLog('n0'), ['seed', 'mark'], 'the first instance is not seeded again');
  assert.ok(alive(pidOf('n3')));
});

test('a host without the Java a definition needs is refused with 422 naming the host and its Java', async () => {
  const before = (await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length;
  const res = await s.call('POST', '/api/v1/clusters/seed/services', { service: 'future-java', placement: { node: ['n0'] } });
  assert.equal(res.status, 422, JSON.stringify(res.body));
  const error = res.body.errors.find((e: { path: string }) => e.path === 'placement.node.0');
  assert.ok(error, JSON.stringify(res.body.errors));
  assert.match(error.message, /host 'n0' has Java \d+[^;]*; future-java needs Java 99 or newer/);
  assert.equal((await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length, before, 'no operation was created');
});

test("templates see the hosts' labels, and the client configuration is a tarball of the client role's files", async () => {
  const addresses = ['n0', 'n1', 'n2', 'n3'].map((h) => s.fleet.hosts[Number(h.slice(1))]!.address);
  // n3's files were written when it joined, with every member and n1's rack.
  assert.equal(
    readFileSync(path.join(root('n3'), 'seeded/conf/node/topology.map'), 'utf8'),
    addresses.map((a, i) => `${a} ${i === 1 ? '/r1' : '/default-rack'}\n`).join(''),
  );

  const res = await fetch(`${s.api.url}/api/v1/clusters/seed/services/seeded/client-config`, {
    headers: { authorization: `Bearer ${s.operator}` },
  });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/gzip');
  assert.match(res.headers.get('content-disposition') ?? '', /seeded-client-config\.tar\.gz/);
  const dir = mkdtempSync(path.join(tmpdir(), 'client-config-'));
  try {
    writeFileSync(path.join(dir, 'c.tar.gz'), Buffer.from(await res.arrayBuffer()));
    const listed = execFileSync('tar', ['-tzf', path.join(dir, 'c.tar.gz')], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(listed, ['seeded/client.properties', 'seeded/redis.list', 'seeded/topology.map']);
    execFileSync('tar', ['-xzf', path.join(dir, 'c.tar.gz'), '-C', dir]);
    assert.equal(
      readFileSync(path.join(dir, 'seeded/client.properties'), 'utf8'),
      `nodes=${addresses.map((a) => `${a}:19111`).join(',')}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const none = await s.call('GET', '/api/v1/clusters/seed/services/nosuch/client-config');
  assert.equal(none.status, 404);
});

test('a service reading another is refreshed by a follow-up operation when that one is deployed or scaled', async () => {
  const nodes = ['n0', 'n1', 'n2', 'n3'];
  const list = (h: string) => readFileSync(path.join(root(h), 'seeded/conf/node/redis.list'), 'utf8');
  const addr = (h: string) => s.fleet.hosts[Number(h.slice(1))]!.address;
  for (const h of nodes) assert.equal(list(h), '', 'no Redis yet');
  const pidsBefore = nodes.map(pidOf);

  const deployed = await s.call('POST', '/api/v1/clusters/seed/services', {
    service: 'redis',
    placement: { master: ['n0'] },
    config: { port: 16379 },
  });
  assert.equal(deployed.status, 202, JSON.stringify(deployed.body));
  const deploy = await s.waitFor(deployed.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(deploy.status, 'SUCCEEDED', JSON.stringify(deploy));
  const [followUp] = deploy.result.followUps;
  assert.equal(followUp.service, 'seeded', JSON.stringify(deploy.result));
  const refresh = await s.waitFor(followUp.operationId, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(refresh.status, 'SUCCEEDED', JSON.stringify(refresh));
  assert.equal(refresh.type, 'service.refresh');
  assert.deepEqual(refresh.result.cause, { operationId: deploy.id, service: 'redis' });
  for (const h of nodes) assert.equal(list(h), `master ${addr('n0')}:16379\n`);
  nodes.forEach((h, i) => assert.notEqual(pidOf(h), pidsBefore[i], `${h} was restarted onto its new file`));
  const steps = await s.steps(refresh.id);
  assert.deepEqual([...new Set(steps.map((x) => x.phase))], ['refresh batch 1', 'refresh batch 2', 'refresh batch 3', 'refresh batch 4']);

  const scaled = await s.call('POST', '/api/v1/clusters/seed/services/redis/scale', { role: 'replica', add: ['n1'] });
  assert.equal(scaled.status, 202, JSON.stringify(scaled.body));
  const scale = await s.waitFor(scaled.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(scale.status, 'SUCCEEDED', JSON.stringify(scale));
  assert.equal(scale.result.followUps.length, 1, JSON.stringify(scale.result));
  const second = await s.waitFor(scale.result.followUps[0].operationId, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(second.status, 'SUCCEEDED', JSON.stringify(second));
  for (const h of nodes) assert.equal(list(h), `master ${addr('n0')}:16379\nreplica ${addr('n1')}:16379\n`);

  // Asked by hand with nothing changed: nothing is restarted.
  const pids = nodes.map(pidOf);
  const manual = await s.call('POST', '/api/v1/clusters/seed/services/seeded/refresh');
  assert.equal(manual.status, 202, JSON.stringify(manual.body));
  const idle = await s.waitFor(manual.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(idle.status, 'SUCCEEDED', JSON.stringify(idle));
  assert.match(idle.result.message, /^nothing to do/);
  assert.deepEqual(nodes.map(pidOf), pids);
});

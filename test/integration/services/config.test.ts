/**
 * Config versions on a real fleet: a 3-server ZooKeeper ensemble reconfigured rolling with
 * quorum kept, a change that changes nothing restarts nothing, a rollback to version 1, a
 * Prometheus `restart: false` parameter applied by a reload (same process, new config loaded),
 * a rollback decision during a failing reconfigure, and bad input refused before anything is recorded.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { modeOf, pgrep, sampleEvery, srvr, startStack, type Stack } from './helpers.js';

let s: Stack;
const CLIENT_PORT = 13181;
const PROM_PORT = 19091;
const SERVERS = ['n0', 'n1', 'n2'];
const ZK = '/api/v1/clusters/cfg/services/zookeeper';
const PROM = '/api/v1/clusters/cfg/services/prometheus';

before(async () => {
  // n3 goes down on purpose; the reachability check must not mark it UNREACHABLE meanwhile.
  s = await startStack({ hosts: 4, block: 51, cluster: 'cfg', env: { SOPHON_HOST_CHECK_INTERVAL_SECONDS: '3600' } });
});
after(async () => {
  // The daemons outlive the fleet's sshd: stop them by their pid files whatever state the tests left.
  for (const h of s?.fleet.hosts ?? []) {
    for (const file of ['zookeeper/run/server/zookeeper.pid', 'prometheus/run/server/prometheus.pid']) {
      try {
        const pid = Number(readFileSync(path.join(h.installRoot, file), 'utf8'));
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        // not deployed there, or not running
      }
    }
  }
  await s?.stop();
});

const host = (h: string) => s.fleet.hosts[Number(h.slice(1))]!;
const modes = async () => Promise.all(SERVERS.map(async (h) => modeOf(await srvr(host(h).address, CLIENT_PORT))));
const zooCfg = (h: string) => readFileSync(path.join(host(h).installRoot, 'zookeeper/conf/server/zoo.cfg'), 'utf8');
const zkPid = (h: string) => readFileSync(path.join(host(h).installRoot, 'zookeeper/run/server/zookeeper.pid'), 'utf8').trim();
const promPid = () => readFileSync(path.join(host('n3').installRoot, 'prometheus/run/server/prometheus.pid'), 'utf8').trim();
const promYml = () => readFileSync(path.join(host('n3').installRoot, 'prometheus/conf/server/prometheus.yml'), 'utf8');
const operationCount = async () => (await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length;
const versionCount = async (svc: string) => (await s.call('GET', `${svc}/config/versions`)).body.versions.length;
const zkPids = () => Object.fromEntries(SERVERS.map((h) => [h, zkPid(h)]));

/** Runs a started ZooKeeper operation to its end while sampling `srvr` on every server. */
async function sampled(opId: string) {
  const watch = sampleEvery(async () => ({ modes: await modes() }));
  const op = await s.waitFor(opId, ['SUCCEEDED', 'FAILED', 'HOLDING', 'ROLLED_BACK']);
  return { op, samples: await watch.stop() };
}

/** A majority up at every sample; a majority serving until the leader itself is stopped. */
function assertQuorumKept(
  op: { id: string },
  steps: Array<{ host: string; phase: string; step: string; startedAt: string }>,
  samples: Array<{ at: number; modes: string[] }>,
  lastPhase: string,
) {
  const leaderStop = Date.parse(steps.find((x) => x.phase === lastPhase && x.step === 'stop')!.startedAt);
  assert.ok(samples.length > 10, `sampled ${samples.length} times during ${op.id}`);
  for (const sample of samples) {
    assert.ok(
      sample.modes.filter((m) => m !== 'down').length >= 2,
      `a majority is up at ${new Date(sample.at).toISOString()}: ${sample.modes}`,
    );
    if (sample.at < leaderStop - 500) {
      const serving = sample.modes.filter((m) => m === 'leader' || m === 'follower').length;
      assert.ok(serving >= 2, `a majority serves at ${new Date(sample.at).toISOString()}: ${sample.modes}`);
    }
  }
}

test('ZooKeeper and Prometheus deploy at config version 1', async () => {
  const zk = await s.call('POST', '/api/v1/clusters/cfg/services', {
    service: 'zookeeper',
    placement: { server: SERVERS },
    config: { clientPort: CLIENT_PORT, adminPort: 18081, heapMb: 128 },
  });
  assert.equal(zk.status, 202, JSON.stringify(zk.body));
  const prom = await s.call('POST', '/api/v1/clusters/cfg/services', {
    service: 'prometheus',
    placement: { server: ['n3'] },
    config: { port: PROM_PORT },
  });
  assert.equal(prom.status, 202, JSON.stringify(prom.body));
  for (const id of [zk.body.operation.id, prom.body.operation.id]) {
    const op = await s.waitFor(id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
    assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  }
  const config = (await s.call('GET', `${ZK}/config`)).body.config;
  assert.equal(config.version, 1);
  assert.equal(config.values.tickTime, 2000);
  assert.equal(config.values.clientPort, CLIENT_PORT);
  assert.ok(config.defaults.includes('tickTime'), 'tickTime is a default');
  assert.ok(!config.defaults.includes('clientPort'), 'clientPort was set');
  const versions = (await s.call('GET', `${ZK}/config/versions`)).body.versions;
  assert.deepEqual(
    versions.map((v: { version: number; note: string }) => [v.version, v.note]),
    [[1, 'initial deployment']],
  );
});

test('bad changes are refused with the field path: no operation, no version', async () => {
  const ops = await operationCount();
  const cases: Array<[string, string, unknown, number, string]> = [
    ['PUT', `${ZK}/config`, { values: { nosuch: 1 } }, 400, 'values.nosuch'],
    ['PUT', `${ZK}/config`, { values: { tickTime: 'fast' } }, 400, 'values.tickTime'],
    ['PUT', `${ZK}/config`, { values: { tickTime: 5 } }, 400, 'values.tickTime'],
    ['PUT', `${ZK}/config`, { values: { initLimit: 1000 } }, 400, 'values.initLimit'],
    ['PUT', `${ZK}/config`, { values: { clientPort: 14181 } }, 400, 'values.clientPort'],
    ['PUT', `${ZK}/config`, {}, 400, 'values'],
    ['PUT', `${PROM}/config`, { values: { scrapeInterval: 'often' } }, 400, 'values.scrapeInterval'],
    ['POST', `${ZK}/config/rollback`, { version: 99 }, 400, 'version'],
    ['POST', `${ZK}/config/rollback`, { version: 0 }, 400, 'version'],
    ['POST', `${ZK}/config/rollback`, { version: '1' }, 400, 'version'],
  ];
  for (const [method, url, body, status, field] of cases) {
    const res = await s.call(method, url, body);
    assert.equal(res.status, status, `${method} ${url} ${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
    assert.match(res.type, /problem\+json/);
    assert.ok(
      res.body.errors.some((e: { path: string }) => e.path === field),
      `${field} named in ${JSON.stringify(res.body.errors)}`,
    );
  }
  assert.equal((await s.call('PUT', '/api/v1/clusters/cfg/services/nosuch/config', { values: {} })).status, 404);
  assert.equal((await s.call('GET', `${ZK}/config/versions/1/diff/7`)).status, 404);
  assert.equal((await s.call('GET', `${ZK}/config/versions/x/diff/1`)).status, 404);
  assert.equal(await operationCount(), ops, 'no operation was created');
  assert.equal(await versionCount(ZK), 1, 'no version was recorded');
  assert.equal(await versionCount(PROM), 1, 'no version was recorded');
});

test('tickTime rewrites zoo.cfg on all three and restarts them rolling, leader last, quorum kept', async () => {
  const leader = SERVERS[(await modes()).indexOf('leader')]!;
  const pidsBefore = zkPids();
  const res = await s.call('PUT', `${ZK}/config`, { values: { tickTime: 3000 }, note: 'longer ticks' });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.equal(res.body.operation.type, 'service.reconfigure');
  assert.match(res.body.operation.workflowId, /^reconfigure\/cfg\/zookeeper\//);
  const second = await s.call('PUT', `${ZK}/config`, { values: { tickTime: 4000 } });
  assert.equal(second.status, 409, 'one operation per service at a time');

  const { op, samples } = await sampled(res.body.operation.id);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.result.configVersion, 2);
  assert.equal(op.result.restarted.length, 3);
  assert.deepEqual(op.result.reloaded, []);
  const steps = await s.steps(op.id);
  const last = steps.filter((x) => x.phase === 'reconfigure batch 3');
  assert.ok(last.length > 0 && last.every((x) => x.host === leader), `the leader ${leader} is restarted last: ${JSON.stringify(last)}`);
  assertQuorumKept(op, steps, samples, 'reconfigure batch 3');
  for (const h of SERVERS) {
    assert.match(zooCfg(h), /^tickTime=3000$/m, `zoo.cfg on ${h}`);
    assert.notEqual(zkPid(h), pidsBefore[h], `${h} was restarted`);
    assert.deepEqual(
      steps.filter((x) => x.host === h).map((x) => `${x.step}:${x.status}`),
      ['configure:SUCCEEDED', 'stop:SUCCEEDED', 'start:SUCCEEDED', 'health:SUCCEEDED'],
    );
  }
  const final = await modes();
  assert.deepEqual([...final].sort(), ['follower', 'follower', 'leader'], `after the roll: ${final}`);

  const svc = (await s.call('GET', ZK)).body.service;
  assert.equal(svc.configVersion, 2);
  for (const i of svc.instances) assert.deepEqual([i.configVersion, i.stale], [2, false]);
  const [v2] = (await s.call('GET', `${ZK}/config/versions`)).body.versions;
  assert.equal(v2.version, 2);
  assert.equal(v2.note, 'longer ticks');
  assert.equal(v2.author, (await s.call('GET', '/api/v1/operations/' + op.id)).body.operation.requestedBy);
  assert.equal(v2.operationId, op.id);
  assert.deepEqual(v2.changes, { tickTime: { from: 2000, to: 3000 } });
  const config = (await s.call('GET', `${ZK}/config`)).body.config;
  assert.equal(config.values.tickTime, 3000);
  assert.ok(!config.defaults.includes('tickTime'));

  const diff = (await s.call('GET', `${ZK}/config/versions/1/diff/2`)).body;
  assert.deepEqual(diff.changes, { tickTime: { from: 2000, to: 3000 } });
  assert.deepEqual(diff.instances.map((i: { host: string }) => i.host).sort(), SERVERS);
  for (const i of diff.instances) {
    assert.deepEqual(
      i.files.map((f: { path: string }) => path.basename(f.path)),
      ['zoo.cfg'],
    );
    assert.match(i.files[0].diff, /^-tickTime=2000$/m);
    assert.match(i.files[0].diff, /^\+tickTime=3000$/m);
  }
  const one = (await s.call('GET', `${ZK}/config/versions/1/diff/2?host=n1`)).body;
  assert.deepEqual(
    one.instances.map((i: { host: string }) => i.host),
    ['n1'],
  );
  const ghost = await s.call('GET', `${ZK}/config/versions/1/diff/2?host=ghost`);
  assert.equal(ghost.status, 400);
  assert.equal(ghost.body.errors[0].path, 'host');
  assert.deepEqual((await s.call('GET', `${ZK}/config/versions/2/diff/2`)).body.instances, []);
});

test('setting the same value again makes a version and restarts nothing', async () => {
  const pidsBefore = zkPids();
  const res = await s.call('PUT', `${ZK}/config`, { values: { tickTime: 3000 } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.result.configVersion, 3);
  assert.deepEqual(op.result.restarted, []);
  assert.deepEqual(op.result.files, {});
  assert.match(op.result.message, /nothing changed/);
  assert.deepEqual(zkPids(), pidsBefore, 'no server was restarted');
  assert.ok(
    (await s.steps(op.id)).every((x) => x.step === 'configure'),
    'only files were checked',
  );
  const [v3] = (await s.call('GET', `${ZK}/config/versions?limit=1`)).body.versions;
  assert.deepEqual([v3.version, v3.changes], [3, {}]);
});

test('rollback to version 1 is a new version with the old values, applied rolling with quorum kept', async () => {
  const res = await s.call('POST', `${ZK}/config/rollback`, { version: 1 });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const { op, samples } = await sampled(res.body.operation.id);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.equal(op.result.configVersion, 4);
  assert.equal(op.result.restarted.length, 3);
  assertQuorumKept(op, await s.steps(op.id), samples, 'reconfigure batch 3');
  for (const h of SERVERS) assert.match(zooCfg(h), /^tickTime=2000$/m, `zoo.cfg on ${h} is back`);
  const [v4] = (await s.call('GET', `${ZK}/config/versions`)).body.versions;
  assert.deepEqual([v4.version, v4.note, v4.changes], [4, 'rollback to version 1', { tickTime: { from: 3000, to: 2000 } }]);
  assert.equal((await s.call('GET', `${ZK}/config`)).body.config.values.tickTime, 2000);
  const page = (await s.call('GET', `${ZK}/config/versions?limit=2&before=4`)).body;
  assert.deepEqual([page.versions.map((v: { version: number }) => v.version), page.nextBefore], [[3, 2], 2]);
  const final = await modes();
  assert.deepEqual([...final].sort(), ['follower', 'follower', 'leader'], `after the rollback: ${final}`);
});

const promLog = () => readFileSync(path.join(host('n3').installRoot, 'prometheus/logs/server/prometheus.log'), 'utf8').slice(-3000);

test('a restart: false parameter rewrites the file and reloads: same process, new config loaded', async () => {
  const pid = promPid();
  assert.doesNotThrow(() => process.kill(Number(pid), 0), `Prometheus ${pid} runs before the change: ${promLog()}`);
  const res = await s.call('PUT', `${PROM}/config`, { values: { scrapeInterval: '30s' } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', `${JSON.stringify(op)}\n${promLog()}`);
  assert.deepEqual([op.result.restarted, op.result.reloaded], [[], ['server@n3']]);
  assert.match(promYml(), /scrape_interval: 30s/);
  assert.equal(promPid(), pid, 'Prometheus was not restarted');
  assert.equal(pgrep(`prometheus --config.file=${host('n3').installRoot}`).length, 1);
  const loaded = (await (await fetch(`http://${host('n3').address}:${PROM_PORT}/api/v1/status/config`)).json()) as {
    data: { yaml: string };
  };
  assert.match(loaded.data.yaml, /scrape_interval: 30s/, 'the running Prometheus loaded the new file');
});

test('a rollback decision during a failing reconfigure re-applies the previous version: ROLLED_BACK', async () => {
  await s.fleet.stopHost(3);
  const res = await s.call('PUT', `${PROM}/config`, { values: { retention: '2d' } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const held = await s.waitFor(res.body.operation.id, ['HOLDING', 'SUCCEEDED', 'FAILED']);
  assert.equal(held.status, 'HOLDING', JSON.stringify(held));
  assert.equal(held.holding[0].host, 'n3');
  assert.equal(held.canRollback, true);
  const during = (await s.call('GET', PROM)).body.service;
  assert.equal(during.configVersion, 3);
  assert.deepEqual(
    during.instances.map((i: { stale: boolean }) => i.stale),
    [true],
    'n3 still runs version 2',
  );

  await s.fleet.startHost(3);
  const decided = await s.call('POST', `/api/v1/operations/${held.id}/decision`, { action: 'rollback' });
  assert.equal(decided.status, 202, JSON.stringify(decided.body));
  const done = await s.waitFor(held.id, ['ROLLED_BACK', 'FAILED', 'SUCCEEDED', 'HOLDING']);
  assert.equal(done.status, 'ROLLED_BACK', JSON.stringify(done));
  const svc = (await s.call('GET', PROM)).body.service;
  assert.equal(svc.configVersion, 2);
  assert.deepEqual(
    svc.instances.map((i: { configVersion: number; stale: boolean; observedState: string }) => [i.configVersion, i.stale, i.observedState]),
    [[2, false, 'RUNNING']],
  );
  assert.equal(
    pgrep(`storage.tsdb.retention.time=15d --web.listen-address=${host('n3').address}:${PROM_PORT}`).length,
    1,
    'Prometheus runs with the old retention',
  );
  assert.match(promYml(), /scrape_interval: 30s/, 'version 2 files');
  assert.equal((await s.call('GET', `${PROM}/config`)).body.config.values.retention, '15d');
});

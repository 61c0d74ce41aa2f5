/**
 * Role groups on a real fleet: a 3-server ZooKeeper ensemble (tiny heaps) where a group gives
 * one server a larger heap — only that server restarts, its JVM runs the new heap, the diff
 * names only it, a rollback restores it; bad groups are refused at their field paths with no
 * operation; Redis replicas leaving and rejoining by scale drop out of their group until a change
 * (here from the CLI) lists them again.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { runSophon, showRun } from '../../helpers/sophon-cli.js';
import { modeOf, srvr, startStack, type Stack } from './helpers.js';

let s: Stack;
const CLIENT_PORT = 15181;
const REDIS_PORT = 16479;
const SERVERS = ['n0', 'n1', 'n2'];
const ZK = '/api/v1/clusters/rg/services/zookeeper';
const REDIS = '/api/v1/clusters/rg/services/redis';
const PID_FILES = ['zookeeper/run/server/zookeeper.pid', 'redis/run/master/redis.pid', 'redis/run/replica/redis.pid'];

before(async () => {
  s = await startStack({ hosts: 3, block: 97, cluster: 'rg' });
});
after(async () => {
  // The daemons outlive the fleet's sshd: stop them by their pid files whatever state the tests left.
  for (const h of s?.fleet.hosts ?? []) {
    for (const file of PID_FILES) {
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
const zkPid = (h: string) => readFileSync(path.join(host(h).installRoot, 'zookeeper/run/server/zookeeper.pid'), 'utf8').trim();
const zkPids = () => Object.fromEntries(SERVERS.map((h) => [h, zkPid(h)]));
/** The -Xmx flags of the server's running JVM (the last one is the one in force). */
const heapFlags = (h: string) =>
  readFileSync(`/proc/${zkPid(h)}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a.startsWith('-Xmx'));
const modes = async () => Promise.all(SERVERS.map(async (h) => modeOf(await srvr(host(h).address, CLIENT_PORT))));
const redisConf = (h: string) => readFileSync(path.join(host(h).installRoot, 'redis/conf/replica/redis.conf'), 'utf8');
const operationCount = async () => (await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length;
const versionCount = async (svc: string) => (await s.call('GET', `${svc}/config/versions`)).body.versions.length;

async function succeeded(res: { status: number; body: { operation: { id: string } } }) {
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  return op;
}

test('ZooKeeper (heap 128 MiB) and Redis (a master and two replicas) deploy without groups', async () => {
  await succeeded(
    await s.call('POST', '/api/v1/clusters/rg/services', {
      service: 'zookeeper',
      placement: { server: SERVERS },
      config: { clientPort: CLIENT_PORT, adminPort: 18097, heapMb: 128 },
    }),
  );
  await succeeded(
    await s.call('POST', '/api/v1/clusters/rg/services', {
      service: 'redis',
      placement: { master: ['n0'], replica: ['n1', 'n2'] },
      config: { port: REDIS_PORT },
    }),
  );
  const config = (await s.call('GET', `${ZK}/config`)).body.config;
  assert.deepEqual([config.version, config.values.heapMb, config.groups], [1, 128, {}]);
  for (const h of SERVERS) assert.equal(heapFlags(h).at(-1), '-Xmx128m', `${h}: ${heapFlags(h)}`);
});

test('bad groups are refused with the field path: no operation, no version', async () => {
  const ops = await operationCount();
  const group = (g: object) => ({ groups: { big: { role: 'server', hosts: ['n1'], values: { heapMb: 160 }, ...g } } });
  const cases: Array<[unknown, string]> = [
    [{ groups: { Big: { role: 'server', hosts: ['n1'] } } }, 'groups.Big'],
    [group({ role: 'observer' }), 'groups.big.role'],
    [group({ hosts: ['n1', 'ghost'] }), 'groups.big.hosts.1'],
    [group({ hosts: ['n1', 'n1'] }), 'groups.big.hosts.1'],
    [group({ hosts: 'n1' }), 'groups.big.hosts'],
    [group({ values: { heapMb: 'lots' } }), 'groups.big.values.heapMb'],
    [group({ values: { heapMb: 10 } }), 'groups.big.values.heapMb'],
    [group({ values: { nosuch: 1 } }), 'groups.big.values.nosuch'],
    [group({ values: { clientPort: 15182 } }), 'groups.big.values.clientPort'],
    [group({ extra: true }), 'groups.big'],
    [
      {
        groups: {
          heavy: { role: 'server', hosts: ['n1'], values: {} },
          light: { role: 'server', hosts: ['n2', 'n1'], values: {} },
        },
      },
      'groups.light.hosts.1',
    ],
    [{ note: 'nothing to change' }, 'values'],
  ];
  for (const [body, field] of cases) {
    const res = await s.call('PUT', `${ZK}/config`, body);
    assert.doesNotMatch(JSON.stringify(res.body), /Invalid key in record/);
    assert.equal(res.status, 400, `${JSON.stringify(body)} → ${JSON.stringify(res.body)}`);
    assert.match(res.type, /problem\+json/);
    assert.ok(
      res.body.errors.some((e: { path: string }) => e.path === field),
      `${field} named in ${JSON.stringify(res.body.errors)}`,
    );
  }
  assert.equal(await operationCount(), ops, 'no operation was created');
  assert.equal(await versionCount(ZK), 1, 'no version was recorded');
});

test('a group giving one server 160 MiB restarts only that server, onto the new heap; the others keep their pids', async () => {
  const pidsBefore = zkPids();
  const res = await s.call('PUT', `${ZK}/config`, {
    groups: { big: { role: 'server', hosts: ['n1'], values: { heapMb: 160 } } },
    note: 'more heap for n1',
  });
  const op = await succeeded(res);
  assert.equal(op.result.configVersion, 2);
  assert.deepEqual(op.result.restarted, ['server@n1']);
  assert.deepEqual(op.result.files, {}, 'no file changes: the heap is in the start command');
  assert.notEqual(zkPid('n1'), pidsBefore.n1, 'n1 was restarted');
  assert.equal(heapFlags('n1').at(-1), '-Xmx160m', `n1 runs the group's heap: ${heapFlags('n1')}`);
  for (const h of ['n0', 'n2']) {
    assert.equal(zkPid(h), pidsBefore[h], `${h} was not restarted`);
    assert.equal(heapFlags(h).at(-1), '-Xmx128m');
  }
  const steps = (await s.call('GET', `/api/v1/operations/${op.id}`)).body.operation.steps as Array<{ host: string; step: string }>;
  assert.deepEqual(
    steps.filter((x) => x.host === 'n1').map((x) => x.step),
    ['configure', 'stop', 'start', 'health'],
  );
  for (const h of ['n0', 'n2'])
    assert.deepEqual(
      steps.filter((x) => x.host === h).map((x) => x.step),
      ['configure'],
    );
  assert.deepEqual([...(await modes())].sort(), ['follower', 'follower', 'leader']);

  const instances = (await s.call('GET', ZK)).body.service.instances as Array<{ host: string; group: string | null }>;
  assert.deepEqual(
    instances.map((i) => [i.host, i.group]),
    [
      ['n0', null],
      ['n1', 'big'],
      ['n2', null],
    ],
  );
  const config = (await s.call('GET', `${ZK}/config`)).body.config;
  assert.equal(config.values.heapMb, 128, "the service's value stays");
  assert.deepEqual(config.groups.big.role, 'server');
  assert.deepEqual([config.groups.big.hosts, config.groups.big.departed, config.groups.big.values], [['n1'], [], { heapMb: 160 }]);
  assert.equal(config.groups.big.effective.heapMb, 160);
  assert.equal(config.groups.big.effective.tickTime, config.values.tickTime);

  const [v2] = (await s.call('GET', `${ZK}/config/versions?limit=1`)).body.versions;
  assert.deepEqual(v2.changes, {
    'groups.big.heapMb': { from: null, to: 160 },
    'groups.big.hosts': { from: null, to: 'n1' },
    'groups.big.role': { from: null, to: 'server' },
  });
  assert.deepEqual(v2.groups, { big: { role: 'server', hosts: ['n1'], values: { heapMb: 160 } } });

  const diff = (await s.call('GET', `${ZK}/config/versions/1/diff/2`)).body;
  assert.deepEqual(diff.changes, v2.changes);
  assert.deepEqual(
    diff.instances.map((i: { host: string }) => i.host),
    ['n1'],
    'only the group host renders differently',
  );
  const [n1] = diff.instances;
  assert.deepEqual([n1.files, n1.changes], [[], { heapMb: { from: 128, to: 160 } }]);
  assert.match(n1.start.from, /-Xmx128m/);
  assert.match(n1.start.to, /-Xmx160m/);
});

test('a change without groups keeps them; the same values again restart nothing', async () => {
  const pids = zkPids();
  const op = await succeeded(await s.call('PUT', `${ZK}/config`, { values: { heapMb: 128 } }));
  assert.deepEqual([op.result.configVersion, op.result.restarted], [3, []]);
  assert.deepEqual(zkPids(), pids);
  const [v3] = (await s.call('GET', `${ZK}/config/versions?limit=1`)).body.versions;
  assert.deepEqual([v3.changes, v3.groups.big.hosts], [{}, ['n1']]);
});

test('rollback to version 1 drops the group: only n1 restarts, back on 128 MiB', async () => {
  const pidsBefore = zkPids();
  const op = await succeeded(await s.call('POST', `${ZK}/config/rollback`, { version: 1 }));
  assert.deepEqual([op.result.configVersion, op.result.restarted], [4, ['server@n1']]);
  assert.notEqual(zkPid('n1'), pidsBefore.n1);
  assert.equal(heapFlags('n1').at(-1), '-Xmx128m');
  for (const h of ['n0', 'n2']) assert.equal(zkPid(h), pidsBefore[h], `${h} was not restarted`);
  const [v4] = (await s.call('GET', `${ZK}/config/versions?limit=1`)).body.versions;
  assert.deepEqual(v4.groups, {});
  assert.deepEqual(v4.changes, {
    'groups.big.heapMb': { from: 160, to: null },
    'groups.big.hosts': { from: 'n1', to: null },
    'groups.big.role': { from: 'server', to: null },
  });
  assert.deepEqual((await s.call('GET', `${ZK}/config`)).body.config.groups, {});
  // Back to version 2 again: the group returns, on the same instance.
  const again = await succeeded(await s.call('POST', `${ZK}/config/rollback`, { version: 2 }));
  assert.deepEqual(again.result.restarted, ['server@n1']);
  assert.equal(heapFlags('n1').at(-1), '-Xmx160m');
});

test('a replica that leaves by scale-in drops out of its group; one that joins is in no group until a change lists it', async () => {
  await succeeded(
    await s.call('PUT', `${REDIS}/config`, { groups: { lean: { role: 'replica', hosts: ['n2'], values: { maxmemoryMb: 32 } } } }),
  );
  assert.match(redisConf('n2'), /^maxmemory 32mb$/m);
  assert.doesNotMatch(redisConf('n1'), /^maxmemory /m);

  await succeeded(await s.call('POST', `${REDIS}/scale`, { role: 'replica', remove: ['n2'] }));
  let lean = (await s.call('GET', `${REDIS}/config`)).body.config.groups.lean;
  assert.deepEqual([lean.hosts, lean.departed], [[], ['n2']]);
  // The group stays in the versions made meanwhile, and listing the departed host is refused.
  await succeeded(await s.call('PUT', `${REDIS}/config`, { values: { maxmemoryPolicy: 'allkeys-lru' } }));
  const stale = await s.call('PUT', `${REDIS}/config`, { groups: { lean: { role: 'replica', hosts: ['n2'], values: {} } } });
  assert.equal(stale.status, 400, JSON.stringify(stale.body));
  assert.equal(stale.body.errors[0].path, 'groups.lean.hosts.0');

  await succeeded(await s.call('POST', `${REDIS}/scale`, { role: 'replica', add: ['n2'] }));
  assert.doesNotMatch(redisConf('n2'), /^maxmemory /m, 'the new replica on n2 runs the service values');
  assert.match(redisConf('n2'), /^maxmemory-policy allkeys-lru$/m);
  lean = (await s.call('GET', `${REDIS}/config`)).body.config.groups.lean;
  assert.deepEqual([lean.hosts, lean.departed], [[], ['n2']]);

  // From the CLI: the group keeps its role and values, and gets n2 (its new instance) again.
  const home = mkdtempSync(path.join(tmpdir(), 'sophon-cli-home-'));
  const sophon = (...args: string[]) => runSophon([...args, '-c', 'rg'], { home, url: s.api.url, token: s.operator });
  const set = await sophon('services', 'config', 'group', 'redis', 'lean', '--hosts', 'n2');
  assert.equal(set.code, 0, showRun(set));
  assert.match(set.stdout, /service\.reconfigure rg\/redis: SUCCEEDED/);
  const [v] = (await s.call('GET', `${REDIS}/config/versions?limit=1`)).body.versions;
  assert.deepEqual(v.groups, { lean: { role: 'replica', hosts: ['n2'], values: { maxmemoryMb: 32 } } });
  assert.deepEqual(v.changes, { 'groups.lean.hosts': { from: 'n2 (another instance)', to: 'n2' } });
  assert.match(redisConf('n2'), /^maxmemory 32mb$/m);
  lean = (await s.call('GET', `${REDIS}/config`)).body.config.groups.lean;
  assert.deepEqual([lean.hosts, lean.departed], [['n2'], []]);
  const got = await sophon('services', 'config', 'get', 'redis');
  assert.match(got.stdout, /lean.*replica.*n2.*maxmemoryMb=32/, got.stdout);

  const deleted = await sophon('services', 'config', 'group', 'redis', 'lean', '--delete');
  assert.equal(deleted.code, 0, showRun(deleted));
  assert.deepEqual((await s.call('GET', `${REDIS}/config`)).body.config.groups, {});
  assert.doesNotMatch(redisConf('n2'), /^maxmemory /m);
  rmSync(home, { recursive: true, force: true });
});

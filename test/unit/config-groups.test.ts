import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCatalog } from '../../src/features/defs/index.js';
import {
  configChanges,
  effectiveValues,
  groupOf,
  groupsView,
  groupValues,
  resolveGroups,
  type ConfigSet,
} from '../../src/features/config/groups.js';

const catalog = await loadCatalog(join(dirname(fileURLToPath(import.meta.url)), '../../service-defs'));
const zk = catalog.get('zookeeper');
const hdfs = catalog.get('hdfs');

const servers = ['n0', 'n1', 'n2'].map((hostname, k) => ({ id: `zk-${k}`, role: 'server', hostname }));
const base = { clientPort: 2181, adminPort: 8080, tickTime: 2000, heapMb: 128 };

const config: ConfigSet = {
  values: base,
  groups: { big: { role: 'server', hosts: [{ hostname: 'n1', instanceId: 'zk-1' }], values: { heapMb: 160 } } },
};

void test("an instance of a group runs the version's values overridden by the group's; the others run the version's", () => {
  assert.deepEqual(effectiveValues(config, servers[1]!), { ...base, heapMb: 160 });
  assert.deepEqual(effectiveValues(config, servers[0]!), base);
  assert.deepEqual(effectiveValues({ values: base, groups: {} }, servers[1]!), base);
  assert.equal(groupOf(config.groups, servers[1]!), 'big');
  assert.equal(groupOf(config.groups, servers[2]!), undefined);
  assert.deepEqual(groupValues(config, 'big'), { ...base, heapMb: 160 });
  assert.deepEqual(groupValues(config, undefined), base);
  // The result is a copy: rendering may not change the version.
  effectiveValues(config, servers[0]!).heapMb = 1;
  assert.equal(config.values.heapMb, 128);
});

void test('a group matches the instance it named: one of another role, or a host that left and came back, is in no group', () => {
  assert.equal(groupOf(config.groups, { id: 'zk-1', role: 'client' }), undefined);
  // Scale-in removed n1's instance, a scale-out put a new one (a new id) on n1.
  assert.deepEqual(effectiveValues(config, { id: 'zk-9', role: 'server' }), base);
});

void test('groups of a change are stored with the instances their hosts name', () => {
  const { groups, errors } = resolveGroups(
    zk,
    {
      big: { role: 'server', hosts: ['n1', 'n2'], values: { heapMb: 160, clientPort: 2181 } },
      none: { role: 'server', hosts: [], values: {} },
    },
    servers,
    base,
  );
  assert.deepEqual(errors, []);
  assert.deepEqual(groups, {
    big: {
      role: 'server',
      hosts: [
        { hostname: 'n1', instanceId: 'zk-1' },
        { hostname: 'n2', instanceId: 'zk-2' },
      ],
      values: { heapMb: 160, clientPort: 2181 },
    },
    none: { role: 'server', hosts: [], values: {} },
  });
  assert.deepEqual(groupsView(groups).big, { role: 'server', hosts: ['n1', 'n2'], values: { heapMb: 160, clientPort: 2181 } });
});

void test('every problem of the groups is reported at its field path', () => {
  const { errors } = resolveGroups(
    zk,
    {
      a: { role: 'server', hosts: ['n0', 'ghost', 'n0'], values: { heapMb: 'big', nosuch: 1, tickTime: 5 } },
      b: { role: 'server', hosts: ['n0', 'n2'], values: { clientPort: 3181 } },
      c: { role: 'observer', hosts: ['n1'], values: {} },
    },
    servers,
    base,
  );
  assert.deepEqual(
    errors.map((e) => e.path),
    [
      'groups.a.hosts.1',
      'groups.a.hosts.2',
      'groups.a.values.heapMb',
      'groups.a.values.nosuch',
      'groups.a.values.tickTime',
      'groups.b.hosts.0',
      'groups.b.values.clientPort',
      'groups.c.role',
    ],
  );
  const message = (path: string) => errors.find((e) => e.path === path)!.message;
  assert.match(message('groups.a.hosts.1'), /'ghost' runs no zookeeper server; its server instances are on n0, n1, n2/);
  assert.match(message('groups.a.hosts.2'), /listed twice/);
  assert.match(message('groups.b.hosts.0'), /already in group 'a'/);
  assert.match(message('groups.b.values.clientPort'), /port client.*fixed at deploy/);
  assert.match(message('groups.c.role'), /no role 'observer'; its roles are server/);
});

void test('a host belongs to one group per role, but to a group of each of its roles', () => {
  const instances = [
    { id: 'dn-0', role: 'datanode', hostname: 'h1' },
    { id: 'jn-0', role: 'journalnode', hostname: 'h1' },
  ];
  const { errors } = resolveGroups(
    hdfs,
    {
      disks: { role: 'datanode', hosts: ['h1'], values: { datanodeHeapMb: 512 } },
      journal: { role: 'journalnode', hosts: ['h1'], values: { journalnodeHeapMb: 256 } },
    },
    instances,
    { datanodeHeapMb: 1024, journalnodeHeapMb: 512 },
  );
  assert.deepEqual(errors, []);
  const { errors: missing } = resolveGroups(hdfs, { x: { role: 'namenode', hosts: ['h1'], values: {} } }, instances, {});
  assert.match(missing[0]!.message, /it has no namenode instances/);
});

void test("a version's changes name the groups' roles, hosts and values readably", () => {
  const before: ConfigSet = {
    values: base,
    groups: {
      big: { role: 'server', hosts: [{ hostname: 'n1', instanceId: 'zk-1' }], values: { heapMb: 160 } },
      old: { role: 'server', hosts: [{ hostname: 'n0', instanceId: 'zk-0' }], values: { tickTime: 3000 } },
    },
  };
  const after: ConfigSet = {
    values: { ...base, tickTime: 2500 },
    groups: {
      big: {
        role: 'server',
        hosts: [
          { hostname: 'n1', instanceId: 'zk-1' },
          { hostname: 'n2', instanceId: 'zk-2' },
        ],
        values: { heapMb: 192 },
      },
    },
  };
  assert.deepEqual(configChanges(before, after), {
    tickTime: { from: 2000, to: 2500 },
    'groups.big.heapMb': { from: 160, to: 192 },
    'groups.big.hosts': { from: 'n1', to: 'n1, n2' },
    'groups.old.hosts': { from: 'n0', to: null },
    'groups.old.role': { from: 'server', to: null },
    'groups.old.tickTime': { from: 3000, to: null },
  });
  assert.deepEqual(configChanges(after, after), {});
  // n2 left and joined again: listing it again reaches a new instance, so it is a change.
  const rejoined: ConfigSet = {
    values: base,
    groups: { big: { role: 'server', hosts: [{ hostname: 'n2', instanceId: 'zk-7' }], values: { heapMb: 192 } } },
  };
  const departed: ConfigSet = {
    ...rejoined,
    groups: { big: { ...rejoined.groups.big!, hosts: [{ hostname: 'n2', instanceId: 'zk-2' }] } },
  };
  assert.deepEqual(configChanges(departed, rejoined), { 'groups.big.hosts': { from: 'n2 (another instance)', to: 'n2' } });
});

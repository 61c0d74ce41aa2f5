import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  javaMajor,
  loadCatalog,
  placementViolations,
  serviceDefinitionSchema,
  validatePlacement,
  type ClusterHost,
} from '../../../src/features/defs/index.js';

const defsDir = join(dirname(fileURLToPath(import.meta.url)), '../../../service-defs');
const catalog = await loadCatalog(defsDir);
const ready = (...names: string[]): ClusterHost[] => names.map((hostname) => ({ hostname, status: 'READY' }));

void test('a good placement has no violation', () => {
  const errors = placementViolations({
    definition: catalog.get('kafka'),
    // Controllers and brokers share hosts: their ports differ.
    placement: { controller: ['h1', 'h2', 'h3'], broker: ['h1', 'h2', 'h3'] },
    hosts: ready('h1', 'h2', 'h3'),
    deployedServices: ['zookeeper'],
    usedPorts: [{ hostname: 'h1', port: 2181, service: 'zookeeper', role: 'server' }],
  });
  assert.deepEqual(errors, []);
});

void test('a dependency that is not deployed is named', () => {
  const errors = placementViolations({
    definition: catalog.get('yarn'),
    placement: { resourcemanager: ['h1'], nodemanager: ['h2'] },
    hosts: ready('h1', 'h2'),
    deployedServices: [],
  });
  assert.deepEqual(
    errors.map((e) => e.message),
    ['yarn needs hdfs in the cluster; deploy hdfs first'],
  );
});

void test('all violations are reported together, in words an operator understands', () => {
  const hosts: ClusterHost[] = [...ready('h1', 'h2', 'h3'), { hostname: 'h4', status: 'UNREACHABLE' }];
  assert.throws(
    () =>
      validatePlacement({
        definition: catalog.get('kafka'),
        placement: { broker: ['h1', 'h4', 'h9', 'h1'], controller: ['h2', 'h3'], gateway: ['h2'] },
        hosts,
        deployedServices: [],
        usedPorts: [{ hostname: 'h1', port: 9092, service: 'redis', role: 'master' }],
      }),
    (err: { code: string; status: number; message: string; errors: Array<{ path: string; message: string }> }) => {
      assert.equal(err.code, 'PLACEMENT_INVALID');
      assert.equal(err.status, 422);
      const messages = err.errors.map((e) => e.message);
      assert.deepEqual(messages, [
        "kafka has no role 'gateway'; its roles are controller, broker",
        "role 'controller' needs an odd number of hosts (1, 3, 5, ...), got 2: h2, h3 (an even ensemble cannot out-vote a split)",
        "host 'h4' is UNREACHABLE, not READY; bring it back or choose another host",
        "host 'h9' is not in the cluster; add it first",
        "host 'h1' is listed twice for role 'broker'",
        "port 9092/tcp (plaintext) of kafka broker on host 'h1' is already used by redis master; choose another host or change the port",
      ]);
      assert.match(err.message, /^Cannot place kafka: kafka has no role 'gateway'/);
      return true;
    },
  );
});

void test('cardinality: odd, minimum, exact and range', () => {
  const zk = placementViolations({
    definition: catalog.get('zookeeper'),
    placement: { server: ['a', 'b'] },
    hosts: ready('a', 'b'),
    deployedServices: [],
  });
  assert.deepEqual(
    zk.map((e) => e.message),
    ["role 'server' needs an odd number of hosts (1, 3, 5, ...), got 2: a, b (an even ensemble cannot out-vote a split)"],
  );
  const redis = placementViolations({
    definition: catalog.get('redis'),
    placement: { master: ['a', 'b'] },
    hosts: ready('a', 'b'),
    deployedServices: [],
  });
  assert.deepEqual(
    redis.map((e) => e.message),
    ["role 'master' needs exactly 1 host, got 2: a, b"],
  );
  const hdfs = placementViolations({
    definition: catalog.get('hdfs'),
    placement: { namenode: ['a', 'b', 'c'] },
    hosts: ready('a', 'b', 'c'),
    deployedServices: ['zookeeper'],
  });
  assert.deepEqual(
    hdfs.map((e) => e.message),
    ["role 'namenode' needs between 1 and 2 hosts, got 3: a, b, c", "role 'datanode' needs at least 1 host, got 0"],
  );
});

void test('roles of one service placed on one host may not share a port', () => {
  const errors = placementViolations({
    definition: catalog.get('redis'),
    placement: { master: ['a'], replica: ['a'] },
    hosts: ready('a'),
    deployedServices: [],
  });
  assert.deepEqual(
    errors.map((e) => e.message),
    ["port 6379/tcp (redis) of redis replica on host 'a' is already used by redis master; choose another host or change the port"],
  );
});

void test('a port moved by a parameter is the one checked', () => {
  const base = {
    definition: catalog.get('zookeeper'),
    placement: { server: ['a'] },
    hosts: ready('a'),
    deployedServices: [],
    usedPorts: [{ hostname: 'a', port: 2181, service: 'other', role: 'x' }],
  };
  assert.equal(placementViolations(base).length, 1);
  assert.deepEqual(placementViolations({ ...base, params: { clientPort: 12181 } }), []);
});

/** A definition with placement rules like an HA file system's: two heads need a log quorum, failover controllers beside them and a coordinator. */
const haLike = {
  ...serviceDefinitionSchema.parse({
    name: 'ha-like',
    label: 'HA-like (tests only)',
    runAs: { user: 'x' },
    requires: { java: 17 },
    versions: [{ version: '1', packages: [{ arch: 'noarch', file: 'x-1.tar.gz' }] }],
    parameters: [{ name: 'copies', type: 'int', default: 1 }],
    optionalDependencies: ['coordinator'],
    roles: [
      { name: 'head', kind: 'master', cardinality: '1-2', process: { run: 'exec sleep 1' } },
      { name: 'log', kind: 'master', cardinality: '0+', process: { run: 'exec sleep 1' } },
      { name: 'failover', kind: 'master', cardinality: '0-2', process: { run: 'exec sleep 1' } },
      { name: 'worker', kind: 'worker', cardinality: '1+', process: { run: 'exec sleep 1' } },
    ],
    placementRules: [
      { when: { role: 'head', cardinality: '2' }, role: 'log', cardinality: '3+', reason: 'two heads share their log through a quorum' },
      { when: { role: 'head', cardinality: '2' }, role: 'log', cardinality: 'odd', reason: 'a log quorum votes by majority' },
      {
        when: { role: 'head', cardinality: '2' },
        role: 'failover',
        sameHostsAs: 'head',
        reason: 'each head fails over through a controller beside it',
      },
      { when: { role: 'head', cardinality: '2' }, service: 'coordinator', reason: 'failover elects the active head through it' },
      { when: { role: 'head', cardinality: '1' }, role: 'log', cardinality: '0', reason: 'a single head keeps its own log' },
      { role: 'worker', atLeastParameter: 'copies', reason: 'every block keeps that many copies on distinct workers' },
    ],
  }),
  dir: '',
  templates: {},
};

void test('placement rules: HA needs its quorum, controllers beside the heads and the coordinator; a single head needs none', () => {
  const hosts = ready('a', 'b', 'c', 'd');
  const check = (placement: Record<string, string[]>, deployedServices: string[] = []) =>
    placementViolations({ definition: haLike, placement, hosts, deployedServices }).map((e) => `${e.path}: ${e.message}`);
  assert.deepEqual(check({ head: ['a', 'b'], log: ['a', 'b', 'c'], failover: ['b', 'a'], worker: ['d'] }, ['coordinator']), []);
  assert.deepEqual(check({ head: ['a'], worker: ['d'] }), []);
  assert.deepEqual(check({ head: ['a', 'b'], log: ['a', 'b'], failover: ['a'], worker: ['d'] }), [
    "placement.log: role 'log' needs at least 3 hosts with 2 heads, two heads share their log through a quorum, got 2",
    "placement.log: role 'log' needs an odd number of hosts (1, 3, 5, ...) with 2 heads, a log quorum votes by majority, got 2",
    "placement.failover: role 'failover' must be on the hosts of 'head' (a, b) with 2 heads, each head fails over through a controller beside it, got a",
    'service: ha-like needs coordinator in the cluster with 2 heads, failover elects the active head through it; deploy coordinator first',
  ]);
  assert.deepEqual(check({ head: ['a'], log: ['b'], worker: ['d'] }), [
    "placement.log: role 'log' needs exactly 0 hosts with 1 head, a single head keeps its own log, got 1",
  ]);
});

void test('a definition that needs Java refuses hosts without it, or with an older one, naming the host', () => {
  const hosts: ClusterHost[] = [
    { hostname: 'a', status: 'READY', javaVersion: '17.0.9' },
    { hostname: 'b', status: 'READY', javaVersion: null },
    { hostname: 'c', status: 'READY', javaVersion: '1.8.0_392' },
    { hostname: 'd', status: 'READY', javaVersion: '21' },
  ];
  const errors = placementViolations({
    definition: haLike,
    placement: { head: ['a'], worker: ['b', 'c', 'd'] },
    hosts,
    deployedServices: [],
  });
  assert.deepEqual(
    errors.map((e) => `${e.path}: ${e.message}`),
    [
      "placement.worker.0: host 'b' has no Java (no java on its PATH when it was bootstrapped); ha-like needs Java 17 or newer on every host",
      "placement.worker.1: host 'c' has Java 1.8.0_392; ha-like needs Java 17 or newer on every host",
    ],
  );
  assert.equal(javaMajor('1.8.0_392'), 8);
  assert.equal(javaMajor('25'), 25);
  assert.equal(javaMajor('17.0.9+9'), 17);
});

void test('a rule with a parameter: too few workers for the copies asked for, with the default or a value', () => {
  const hosts = ready('a', 'b', 'c');
  const check = (worker: string[], params?: Record<string, number>) =>
    placementViolations({
      definition: haLike,
      placement: { head: ['a'], worker },
      hosts,
      deployedServices: [],
      ...(params ? { params } : {}),
    }).map((e) => `${e.path}: ${e.message}`);
  assert.deepEqual(check(['b']), []);
  assert.deepEqual(check(['b', 'c'], { copies: 2 }), []);
  assert.deepEqual(check(['b'], { copies: 2 }), [
    "placement.worker: role 'worker' needs at least 2 hosts (copies is 2): every block keeps that many copies on distinct workers, got 1",
  ]);
  assert.deepEqual(check(['b', 'c'], { copies: 3 }), [
    "placement.worker: role 'worker' needs at least 3 hosts (copies is 3): every block keeps that many copies on distinct workers, got 2",
  ]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog, placementViolations, validatePlacement, type ClusterHost } from '../../../src/features/defs/index.js';

const defsDir = join(dirname(fileURLToPath(import.meta.url)), '../../../service-defs');
const catalog = await loadCatalog(defsDir);
const ready = (...names: string[]): ClusterHost[] => names.map((hostname) => ({ hostname, status: 'READY' }));

void test('a good placement has no violation', () => {
  const errors = placementViolations({
    definition: catalog.get('kafka'),
    placement: { broker: ['h1', 'h2', 'h3'] },
    hosts: ready('h1', 'h2', 'h3'),
    deployedServices: ['zookeeper'],
    usedPorts: [{ hostname: 'h1', port: 2181, service: 'zookeeper', role: 'server' }],
  });
  assert.deepEqual(errors, []);
});

void test('all violations are reported together, in words an operator understands', () => {
  const hosts: ClusterHost[] = [...ready('h1', 'h2', 'h3'), { hostname: 'h4', status: 'UNREACHABLE' }];
  assert.throws(
    () =>
      validatePlacement({
        definition: catalog.get('kafka'),
        placement: { broker: ['h1', 'h4', 'h9', 'h1'], controller: ['h2'] },
        hosts,
        deployedServices: [],
        usedPorts: [{ hostname: 'h1', port: 9092, service: 'redis', role: 'master' }],
      }),
    (err: { code: string; status: number; message: string; errors: Array<{ path: string; message: string }> }) => {
      assert.equal(err.code, 'PLACEMENT_INVALID');
      assert.equal(err.status, 422);
      const messages = err.errors.map((e) => e.message);
      assert.deepEqual(messages, [
        "kafka has no role 'controller'; its roles are broker",
        "host 'h4' is UNREACHABLE, not READY; bring it back or choose another host",
        "host 'h9' is not in the cluster; add it first",
        "host 'h1' is listed twice for role 'broker'",
        'kafka needs zookeeper in the cluster; deploy zookeeper first',
        "port 9092/tcp (plaintext) of kafka broker on host 'h1' is already used by redis master; choose another host or change the port",
      ]);
      assert.match(err.message, /^Cannot place kafka: kafka has no role 'controller'/);
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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SophonError } from '../../src/errors.js';
import { expandHostSpec, expandRange } from '../../src/hosts/ranges.js';

test('plain values stand for themselves', () => {
  assert.deepEqual(expandRange('zk-a', 'h'), ['zk-a']);
});

test('numeric ranges expand, keeping zero padding', () => {
  assert.deepEqual(expandRange('node[1-3]', 'h'), ['node1', 'node2', 'node3']);
  assert.deepEqual(expandRange('node[08-10].dc1', 'h'), ['node08', 'node09', 'node10'].map((n) => `${n}.dc1`));
  assert.deepEqual(expandRange('127.0.0.[11-13]', 'a'), ['127.0.0.11', '127.0.0.12', '127.0.0.13']);
});

test('bad ranges name the field and say what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['node[3-1]', /hosts\.0\.hostname: the range start 3 is greater than its end 1/],
    ['node[1-2][1-2]', /only one \[from-to\] range is allowed/],
    ['node[a-b]', /expected a range like \[1-3\]/],
    ['node[1-5000]', /at most 1000 values/],
  ];
  for (const [pattern, message] of cases) {
    assert.throws(() => expandRange(pattern, 'hosts.0.hostname'), (err: unknown) => {
      assert.ok(err instanceof SophonError);
      assert.equal(err.code, 'VALIDATION_FAILED');
      assert.match(err.message, message);
      assert.equal(err.errors[0]?.path, 'hosts.0.hostname');
      return true;
    });
  }
});

test('hostname and address ranges pair up', () => {
  assert.deepEqual(expandHostSpec('zk[1-2]', '127.0.0.[11-12]', 'hosts.0'), [
    { hostname: 'zk1', address: '127.0.0.11' },
    { hostname: 'zk2', address: '127.0.0.12' },
  ]);
  assert.deepEqual(expandHostSpec('127.0.0.5', undefined, 'hosts.0'), [{ hostname: '127.0.0.5', address: '127.0.0.5' }]);
  assert.throws(() => expandHostSpec('zk[1-3]', '127.0.0.[11-12]', 'hosts.1'), /hosts\.1\.address: expands to 2 addresses but the hostname expands to 3/);
  assert.throws(() => expandHostSpec('zk[1-3]', '127.0.0.11', 'hosts.1'), /3 hostnames need 3 addresses/);
});

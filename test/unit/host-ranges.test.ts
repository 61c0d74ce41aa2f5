import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SophonError } from '../../src/platform/errors.js';
import { countHostSpec, countRange, duplicates, expandHostSpec, expandRange } from '../../src/features/hosts/ranges.js';

test('plain values stand for themselves', () => {
  assert.deepEqual(expandRange('zk-a', 'h'), ['zk-a']);
});

test('numeric ranges expand, keeping zero padding', () => {
  assert.deepEqual(expandRange('node[1-3]', 'h'), ['node1', 'node2', 'node3']);
  assert.deepEqual(
    expandRange('node[08-10].dc1', 'h'),
    ['node08', 'node09', 'node10'].map((n) => `${n}.dc1`),
  );
  assert.deepEqual(expandRange('127.0.0.[11-13]', 'a'), ['127.0.0.11', '127.0.0.12', '127.0.0.13']);
});

test('bad ranges name the field and say what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['node[3-1]', /hosts\.0\.hostname: the range start 3 is greater than its end 1/],
    ['node[1-2][1-2]', /only one \[from-to\] range is allowed/],
    ['node[a-b]', /expected a range like \[1-3\]/],
    // 2^53 + 1: past it n++ no longer changes n and the expansion never ended.
    ['n[9007199254740993-9007199254740993]', /range bounds have at most 9 digits/],
    ['n[1-1234567890]', /range bounds have at most 9 digits/],
  ];
  for (const [pattern, message] of cases) {
    assert.throws(
      () => expandRange(pattern, 'hosts.0.hostname'),
      (err: unknown) => {
        assert.ok(err instanceof SophonError);
        assert.equal(err.code, 'VALIDATION_FAILED');
        assert.match(err.message, message);
        assert.equal(err.errors[0]?.path, 'hosts.0.hostname');
        return true;
      },
    );
  }
});

test('hostname and address ranges pair up', () => {
  assert.deepEqual(expandHostSpec('zk[1-2]', '127.0.0.[11-12]', 'hosts.0'), [
    { hostname: 'zk1', address: '127.0.0.11' },
    { hostname: 'zk2', address: '127.0.0.12' },
  ]);
  assert.deepEqual(expandHostSpec('127.0.0.5', undefined, 'hosts.0'), [{ hostname: '127.0.0.5', address: '127.0.0.5' }]);
  assert.throws(
    () => expandHostSpec('zk[1-3]', '127.0.0.[11-12]', 'hosts.1'),
    /hosts\.1\.address: expands to 2 addresses but the hostname expands to 3/,
  );
  assert.throws(() => expandHostSpec('zk[1-3]', '127.0.0.11', 'hosts.1'), /3 hostnames need 3 addresses/);
});

test('ranges are counted without expanding them', () => {
  assert.equal(countRange('node[1-999999999]', 'h'), 999_999_999);
  assert.equal(countRange('node7', 'h'), 1);
  assert.equal(countHostSpec('zk[1-2]', '127.0.0.[11-12]', 'hosts.0'), 2);
  assert.throws(() => countHostSpec('zk[1-3]', '127.0.0.[11-12]', 'hosts.1'), /hosts\.1\.address: expands to 2 addresses/);
});

test('duplicates are found in linear time, each reported once', () => {
  assert.deepEqual(duplicates(['a', 'b', 'a', 'c', 'a', 'b']), ['a', 'b']);
  assert.deepEqual(duplicates([]), []);
  // 200,000 distinct names: a quadratic check blocked the event loop for tens of seconds here.
  const many = Array.from({ length: 200_000 }, (_, i) => `n${i}`);
  assert.deepEqual(duplicates([...many, 'n5']), ['n5']);
});

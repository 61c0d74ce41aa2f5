import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson } from '../../src/platform/http/idempotency.js';

test('canonical JSON ignores key order at every depth and keeps array order', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
  assert.equal(canonicalJson({ a: { c: 1, d: 2 } }), canonicalJson({ a: { d: 2, c: 1 } }));
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
  assert.notEqual(canonicalJson({ a: '1' }), canonicalJson({ a: 1 }));
  assert.equal(canonicalJson('x"y'), '"x\\"y"');
  assert.equal(canonicalJson(null), 'null');
});

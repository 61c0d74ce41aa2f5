import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressAt } from '../../fleet/fleet.js';

test('fleet addresses count up from the base and carry into the next octet', () => {
  assert.equal(addressAt('127.0.10.1', 0), '127.0.10.1');
  assert.equal(addressAt('127.0.10.1', 49), '127.0.10.50');
  assert.equal(addressAt('127.0.10.250', 10), '127.0.11.4');
});

test('fleet addresses stay on loopback', () => {
  assert.throws(() => addressAt('10.0.0.1', 0), /loopback/);
  assert.throws(() => addressAt('127.255.255.250', 10), /127\.0\.0\.0\/8/);
});

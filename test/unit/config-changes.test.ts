import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changesBetween } from '../../src/features/config/repo.js';

test('a config change lists each parameter whose value differs, with from and to', () => {
  assert.deepEqual(changesBetween({ tickTime: 2000, initLimit: 10 }, { tickTime: 3000, initLimit: 10 }), {
    tickTime: { from: 2000, to: 3000 },
  });
  assert.deepEqual(changesBetween({ a: 1 }, { a: 1 }), {});
  // A string is not the number it spells; a parameter present on one side only is a change from or to null.
  assert.deepEqual(changesBetween({ a: 1, gone: true }, { a: '1', added: 'x' }), {
    a: { from: 1, to: '1' },
    added: { from: null, to: 'x' },
    gone: { from: true, to: null },
  });
});

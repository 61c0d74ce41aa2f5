import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOutputCapture } from '../../../src/platform/ssh/capture.js';

test('output under the limit is kept whole', () => {
  const capture = createOutputCapture(100);
  capture.write(Buffer.from('hello '));
  capture.write(Buffer.from('world'));
  assert.equal(capture.text(), 'hello world');
  assert.equal(capture.totalBytes, 11);
});

test('long output keeps head and tail with an omission marker', () => {
  const capture = createOutputCapture(10);
  for (const c of 'abcdefghijklmnopqrstuvwxyz') capture.write(Buffer.from(c));
  assert.equal(capture.text(), 'abcde\n... 16 bytes omitted ...\nvwxyz');
  assert.equal(capture.totalBytes, 26);
  assert.equal(capture.retainedBytes, 10);
});

test('a single huge chunk is bounded', () => {
  const capture = createOutputCapture(1024);
  capture.write(Buffer.alloc(10 * 1024 * 1024, 'x'));
  capture.write(Buffer.from('END'));
  assert.equal(capture.retainedBytes, 1024);
  assert.ok(capture.text().endsWith('END'));
  assert.match(capture.text(), new RegExp(`\\.\\.\\. ${10 * 1024 * 1024 + 3 - 1024} bytes omitted \\.\\.\\.`));
});

test('tail keeps exactly the last bytes across chunk boundaries', () => {
  const capture = createOutputCapture(8);
  capture.write(Buffer.from('0123'));
  capture.write(Buffer.from('456'));
  capture.write(Buffer.from('789ab'));
  assert.equal(capture.text(), '0123\n... 4 bytes omitted ...\n89ab');
});

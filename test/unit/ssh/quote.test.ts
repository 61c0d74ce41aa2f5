import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { sh, shellQuote } from '../../../src/platform/ssh/quote.js';

const NASTY = [
  'plain',
  '',
  'two words',
  "it's",
  '"double"',
  '$(touch pwned)',
  '`touch pwned`',
  'a; touch pwned',
  'a && touch pwned',
  'a | touch pwned',
  'line1\ntouch pwned',
  '$HOME ${HOME} $((1+1))',
  '*',
  '~',
  '-rf',
  "'; touch pwned; echo '",
  'tab\there',
  'ünïcødé',
];

test('safe words are left bare, everything else is single-quoted', () => {
  assert.equal(shellQuote('/opt/sophon/zk-3.8.4'), '/opt/sophon/zk-3.8.4');
  assert.equal(shellQuote(42), '42');
  assert.equal(shellQuote(''), "''");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote('a b'), "'a b'");
});

test('a real sh reads every quoted value back as exactly one unchanged word', () => {
  const command = sh`printf '%s\\0' ${NASTY}`;
  const output = execFileSync('sh', ['-c', command.text], { cwd: '/tmp' }).toString('utf8');
  assert.deepEqual(output.split('\0').slice(0, -1), NASTY);
});

test('sh inserts nested commands as is and quotes each interpolated value', () => {
  const inner = sh`echo ${'a b'}`;
  assert.equal(sh`${inner} && ls -- ${'x;y'} ${3}`.text, "echo 'a b' && ls -- 'x;y' 3");
});

test('NUL bytes are refused', () => {
  assert.throws(() => shellQuote('a\0b'), /NUL/);
});

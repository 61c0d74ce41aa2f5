import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprint } from '../../../src/platform/ssh/fingerprint.js';

test('fingerprint matches ssh-keygen -lf for ed25519 and rsa keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sophon-fp-'));
  try {
    for (const type of ['ed25519', 'rsa']) {
      const path = join(dir, type);
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', path]);
      const line = readFileSync(`${path}.pub`, 'utf8');
      const expected = execFileSync('ssh-keygen', ['-lf', `${path}.pub`])
        .toString()
        .split(' ')[1];
      assert.equal(fingerprint(line), expected);
      assert.equal(fingerprint(Buffer.from(line.split(' ')[1] as string, 'base64')), expected);
      assert.match(fingerprint(line), /^SHA256:[A-Za-z0-9+/]{43}$/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fingerprint rejects text that is not a public key line', () => {
  assert.throws(() => fingerprint('not a key'), /OpenSSH public key/);
});

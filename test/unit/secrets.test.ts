import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { SophonError } from '../../src/platform/errors.js';
import { createLogger } from '../../src/platform/log.js';
import { createSecretBox, parseMasterKey } from '../../src/platform/secrets/secret-box.js';

test('a sealed secret opens with the same key and differs on every seal', () => {
  const box = createSecretBox(randomBytes(32));
  const a = box.seal('-----BEGIN OPENSSH PRIVATE KEY-----');
  const b = box.seal('-----BEGIN OPENSSH PRIVATE KEY-----');
  assert.notEqual(a, b);
  assert.ok(!a.includes('OPENSSH'));
  assert.equal(box.open(a), '-----BEGIN OPENSSH PRIVATE KEY-----');
});

test('another key cannot open a secret', () => {
  const sealed = createSecretBox(randomBytes(32)).seal('s3cret');
  assert.throws(
    () => createSecretBox(randomBytes(32)).open(sealed),
    (err: unknown) => {
      assert.ok(err instanceof SophonError);
      assert.equal(err.code, 'SECRET_UNREADABLE');
      return true;
    },
  );
});

test('a tampered ciphertext is refused', () => {
  const box = createSecretBox(randomBytes(32));
  const parts = box.seal('s3cret').split(':');
  const body = Buffer.from(parts[3]!, 'base64');
  body[0]! ^= 1;
  parts[3] = body.toString('base64');
  assert.throws(() => box.open(parts.join(':')), /cannot be decrypted/);
});

test('master keys are read as hex or base64 and must be 32 bytes', () => {
  const key = randomBytes(32);
  assert.deepEqual(parseMasterKey(key.toString('hex'), 'x'), key);
  assert.deepEqual(parseMasterKey(key.toString('base64') + '\n', 'x'), key);
  assert.throws(() => parseMasterKey('abcd', 'SOPHON_MASTER_KEY'), /SOPHON_MASTER_KEY: expected a 32-byte key/);
});

test('the logger never prints secrets', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('info', sink);
  logger.info({ credential: { username: 'root', privateKey: 'PRIVATE-KEY-MATERIAL', passphrase: 'PASS' }, token: 'sph_abc' }, 'connecting');
  logger.info({ req: { headers: { authorization: 'Bearer sph_xyz' } } }, 'request');
  const out = lines.join('');
  for (const secret of ['PRIVATE-KEY-MATERIAL', 'PASS"', 'sph_abc', 'sph_xyz'])
    assert.ok(!out.includes(secret), `${secret} leaked: ${out}`);
  assert.ok(out.includes('root'));
});

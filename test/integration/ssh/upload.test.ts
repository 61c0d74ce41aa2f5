import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { SshError, remoteSha256, uploadFile, type SshConnection, type SshPool } from '../../../src/platform/ssh/index.js';
import { fleetBase, poolFor, rejection, targetFor } from './helpers.js';

let fleet: Fleet;
let pool: SshPool;
let conn: SshConnection;
let localDir: string;
let localFile: string;
let localSha: string;

before(async () => {
  fleet = await startFleet({ hosts: 1, baseAddress: fleetBase(14) });
  pool = poolFor(fleet);
  conn = await pool.connect(targetFor(fleet, 0));
  localDir = mkdtempSync(join(tmpdir(), 'sophon-upload-'));
  localFile = join(localDir, 'package.tar.gz');
  const content = randomBytes(5 * 1024 * 1024 + 123);
  writeFileSync(localFile, content);
  localSha = createHash('sha256').update(content).digest('hex');
});

after(async () => {
  pool?.closeAll();
  await fleet?.stop();
  if (localDir !== undefined) rmSync(localDir, { recursive: true, force: true });
});

test('uploads over SFTP with progress and a sha256 verified on the host', async () => {
  const remote = join(fleet.hosts[0]?.installRoot as string, 'packages', 'a b', 'package.tar.gz');
  const progress: number[] = [];
  const result = await uploadFile(conn, localFile, remote, { onProgress: (sent) => progress.push(sent), mode: 0o640 });
  assert.deepEqual(result, { bytes: 5 * 1024 * 1024 + 123, sha256: localSha, skipped: false });
  assert.ok(progress.length > 1, 'progress is reported while sending');
  assert.equal(progress.at(-1), result.bytes);
  assert.equal(await remoteSha256(conn, remote), localSha);
  assert.ok(readFileSync(remote).equals(readFileSync(localFile)));
  // No temp file is left next to the destination.
  assert.deepEqual(readdirSync(join(remote, '..')), ['package.tar.gz']);

  // A retried upload finds the identical file and sends nothing.
  const again = await uploadFile(conn, localFile, remote);
  assert.equal(again.skipped, true);
});

test('a corrupted upload is detected, retryable, and never moved into place', async () => {
  const dir = join(fleet.hosts[0]?.installRoot as string, 'corrupt');
  const remote = join(dir, 'package.tar.gz');
  const error = await rejection(
    uploadFile(conn, localFile, remote, {
      onProgress: (sent, total) => {
        // Corrupt the partial file on the host as the last bytes arrive.
        if (sent !== total) return;
        const [temp] = readdirSync(dir).filter((name) => name.includes('.sophon-upload-'));
        appendFileSync(join(dir, temp as string), 'garbage');
      },
    }),
  );
  assert.ok(error instanceof SshError);
  assert.equal(error.code, 'UPLOAD_CORRUPT');
  assert.equal(error.retryable, true);
  assert.match(error.message, new RegExp(`expected ${localSha}`));
  assert.equal(existsSync(remote), false);
  assert.deepEqual(readdirSync(dir), [], 'the corrupted temp file is removed');
  // The retry succeeds.
  assert.equal((await uploadFile(conn, localFile, remote)).sha256, localSha);
});

test('an upload into a path that cannot exist fails for good (not retryable)', async () => {
  const blocker = join(fleet.hosts[0]?.installRoot as string, 'a-file');
  writeFileSync(blocker, 'not a directory');
  const error = await rejection(uploadFile(conn, localFile, join(blocker, 'package.tar.gz')));
  assert.ok(error instanceof SshError);
  assert.equal(error.code, 'COMMAND_FAILED');
  assert.equal(error.retryable, false);
});

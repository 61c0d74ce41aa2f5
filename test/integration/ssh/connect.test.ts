import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { SshError, createSshPool, sh, type SshPool } from '../../../src/platform/ssh/index.js';
import { fleetBase, poolFor, rejection, targetFor } from './helpers.js';

let fleet: Fleet;
let pool: SshPool;

before(async () => {
  fleet = await startFleet({ hosts: 5, baseAddress: fleetBase(11) });
  pool = poolFor(fleet);
});

after(async () => {
  pool?.closeAll();
  await fleet?.stop();
});

test('connects to 5 hosts in parallel and reports each host key (trust on first use)', async () => {
  const connections = await Promise.all(fleet.hosts.map((_, i) => pool.connect(targetFor(fleet, i))));
  assert.deepEqual(
    connections.map((c) => c.hostKeyFingerprint),
    fleet.hosts.map((h) => h.hostKeyFingerprint),
  );
  const outputs = await Promise.all(connections.map((c) => c.run(sh`echo "$SSH_CONNECTION"`)));
  outputs.forEach((result, i) => assert.ok(result.stdout.endsWith(` ${fleet.hosts[i]?.address} 2222\n`), result.stdout));
});

test('one pooled connection serves many commands, parallel ones beyond OpenSSH MaxSessions queue', async () => {
  const local = poolFor(fleet, { maxChannelsPerHost: 8 });
  const target = targetFor(fleet, 1);
  const loginsBefore = fleet.loginCount(1);
  try {
    for (let i = 0; i < 10; i++) assert.equal((await local.exec(target, sh`echo ${i}`)).stdout, `${i}\n`);
    // 30 at once would exceed sshd's 10 sessions per connection without the channel cap.
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => local.exec(target, sh`sleep 0.2; echo ${i}`)));
    assert.deepEqual(
      results.map((r) => r.stdout),
      results.map((_, i) => `${i}\n`),
    );
    assert.equal(local.stats().connectionsOpened, 1);
    assert.equal(fleet.loginCount(1) - loginsBefore, 1);
  } finally {
    local.closeAll();
  }
});

test('a first-use connection serves the host once its key is pinned: one login, not two', async () => {
  const local = poolFor(fleet);
  const loginsBefore = fleet.loginCount(2);
  try {
    const first = await local.connect(targetFor(fleet, 2));
    const pinned = await local.connect(targetFor(fleet, 2, { hostKeyFingerprint: first.hostKeyFingerprint }));
    assert.equal(pinned, first);
    assert.equal((await pinned.run(sh`echo pinned`)).stdout, 'pinned\n');
    assert.equal(local.stats().connectionsOpened, 1);
    assert.equal(fleet.loginCount(2) - loginsBefore, 1);
  } finally {
    local.closeAll();
  }
});

test('a wrong private key is refused, not retryable, naming user and host', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sophon-wrongkey-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
    const wrong = createSshPool({
      resolveCredential: () => Promise.resolve({ username: fleet.username, privateKey: readFileSync(join(dir, 'k'), 'utf8') }),
      connectTimeoutMs: 3000,
    });
    const error = await rejection(wrong.connect(targetFor(fleet, 0, { credential: 'ops-key' })));
    assert.ok(error instanceof SshError);
    assert.equal(error.code, 'SSH_AUTH_REFUSED');
    assert.equal(error.retryable, false);
    assert.ok(error.message.includes(`${fleet.username}@${fleet.hosts[0]?.address}:2222`), error.message);
    assert.match(error.message, /credential 'ops-key'/);
    assert.doesNotMatch(error.message, /PRIVATE KEY/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unparseable key is a non-retryable credential error', async () => {
  const broken = createSshPool({ resolveCredential: () => Promise.resolve({ username: 'root', privateKey: 'garbage' }) });
  const error = await rejection(broken.connect(targetFor(fleet, 0)));
  assert.ok(error instanceof SshError);
  assert.equal(error.code, 'SSH_CREDENTIAL_INVALID');
  assert.equal(error.retryable, false);
});

test('a host whose sshd is stopped is unreachable: retryable, and fails fast', async () => {
  await fleet.stopHost(2);
  try {
    const started = Date.now();
    const error = await rejection(poolFor(fleet, { connectTimeoutMs: 20_000 }).connect(targetFor(fleet, 2)));
    assert.ok(error instanceof SshError);
    assert.equal(error.code, 'SSH_UNREACHABLE');
    assert.equal(error.retryable, true);
    assert.ok(error.message.includes(`host3 at ${fleet.hosts[2]?.address}:2222 (ECONNREFUSED)`), error.message);
    // Refused connections must not wait for the connect timeout.
    assert.ok(Date.now() - started < 20_000);
  } finally {
    await fleet.startHost(2);
  }
});

test('a hung host (sshd frozen with SIGSTOP) gives a timeout error, never a hang', { timeout: 30_000 }, async () => {
  fleet.pauseHost(3);
  try {
    const error = await rejection(poolFor(fleet, { connectTimeoutMs: 1500 }).connect(targetFor(fleet, 3)));
    assert.ok(error instanceof SshError);
    assert.equal(error.code, 'SSH_TIMEOUT');
    assert.equal(error.retryable, true);
    assert.match(error.message, /did not complete the SSH handshake within 1500 ms/);
  } finally {
    fleet.resumeHost(3);
  }
});

test('a host freezing under a running command: the command times out instead of hanging', { timeout: 30_000 }, async () => {
  const local = poolFor(fleet);
  const conn = await local.connect(targetFor(fleet, 3));
  fleet.pauseHost(3);
  try {
    const error = await rejection(conn.exec(sh`sleep 1; echo late`, { timeoutMs: 1000, killGraceMs: 100 }));
    assert.ok(error instanceof SshError);
    assert.ok(error.code === 'COMMAND_TIMEOUT' || error.code === 'SSH_CONNECTION_LOST', error.code);
    assert.equal(error.retryable, true);
  } finally {
    fleet.resumeHost(3);
    local.closeAll();
  }
});

test('keepalive notices a frozen host on an idle pooled connection', { timeout: 30_000 }, async () => {
  const local = poolFor(fleet, { keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
  const conn = await local.connect(targetFor(fleet, 3));
  fleet.pauseHost(3);
  try {
    const deadline = Date.now() + 10_000;
    while (!conn.closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(conn.closed, true);
    assert.equal(local.stats().open, 0);
  } finally {
    fleet.resumeHost(3);
    local.closeAll();
  }
});

test('a connection lost mid-command is a retryable error, and the pool reconnects afterwards', { timeout: 30_000 }, async () => {
  const local = poolFor(fleet);
  const target = targetFor(fleet, 4);
  const conn = await local.connect(target);
  const running = rejection(conn.exec(sh`sleep 20`));
  await new Promise((resolve) => setTimeout(resolve, 300));
  await fleet.stopHost(4);
  try {
    const error = await running;
    assert.ok(error instanceof SshError);
    assert.equal(error.code, 'SSH_CONNECTION_LOST');
    assert.equal(error.retryable, true);
    assert.equal(conn.closed, true);
  } finally {
    await fleet.startHost(4);
  }
  assert.equal((await local.exec(target, sh`echo back`)).stdout, 'back\n');
  assert.equal(local.stats().connectionsOpened, 2);
  local.closeAll();
});

test('a passphrase-protected key works; a wrong passphrase is a non-retryable credential error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sophon-passkey-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', join(dir, 'k')]);
    // Authorized on host1 only: authorized_keys are per host.
    appendFileSync(fleet.hosts[0]?.authorizedKeysPath as string, readFileSync(join(dir, 'k.pub')));
    const privateKey = readFileSync(join(dir, 'k'), 'utf8');
    const withPassphrase = (passphrase: string) =>
      createSshPool({
        resolveCredential: () => Promise.resolve({ username: fleet.username, privateKey, passphrase }),
        connectTimeoutMs: 3000,
      });

    const good = withPassphrase('correct horse');
    assert.equal((await good.exec(targetFor(fleet, 0), sh`echo in`)).stdout, 'in\n');
    good.closeAll();

    const other = await rejection(withPassphrase('correct horse').connect(targetFor(fleet, 1)));
    assert.equal(other.code, 'SSH_AUTH_REFUSED');

    const wrong = await rejection(withPassphrase('battery staple').connect(targetFor(fleet, 0)));
    assert.ok(wrong instanceof SshError);
    assert.equal(wrong.code, 'SSH_CREDENTIAL_INVALID');
    assert.equal(wrong.retryable, false);
    assert.doesNotMatch(wrong.message, /correct horse|battery staple/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

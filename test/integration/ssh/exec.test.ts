import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { SshError, sh, type SshConnection, type SshPool } from '../../../src/platform/ssh/index.js';
import { fleetBase, poolFor, rejection, targetFor } from './helpers.js';

let fleet: Fleet;
let pool: SshPool;
let conn: SshConnection;

before(async () => {
  fleet = await startFleet({ hosts: 1, baseAddress: fleetBase(13) });
  pool = poolFor(fleet);
  conn = await pool.connect(targetFor(fleet, 0));
});

after(async () => {
  pool?.closeAll();
  await fleet?.stop();
});

function pgrep(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', marker]).toString().trim().split('\n');
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

test('exit codes, signals, stderr and stdin are reported', async () => {
  const failed = await conn.exec(sh`echo out; echo err >&2; exit 7`);
  assert.deepEqual([failed.exitCode, failed.signal, failed.stdout, failed.stderr], [7, null, 'out\n', 'err\n']);
  const killed = await conn.exec(sh`kill -KILL $$`);
  assert.deepEqual([killed.exitCode, killed.signal], [null, 'SIGKILL']);
  const echoed = await conn.exec(sh`tr a-z A-Z`, { stdin: 'hello\n' });
  assert.equal(echoed.stdout, 'HELLO\n');
  // Without stdin, a command that reads it sees EOF instead of waiting forever.
  assert.equal((await conn.exec(sh`cat; echo done`)).stdout, 'done\n');
  const error = await rejection(conn.run(sh`echo boom >&2; exit 3`));
  assert.ok(error instanceof SshError);
  assert.equal(error.code, 'COMMAND_FAILED');
  assert.match(error.message, /exited with 3/);
  assert.match(error.message, /boom/);
});

test('a command timeout kills the whole remote process group', { timeout: 30_000 }, async () => {
  const marker = `sophon-timeout-${randomBytes(6).toString('hex')}`;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const pending = conn.exec(sh`sh -c ${`sleep 300; : ${marker}`} & sh -c ${`trap '' TERM; sleep 300; : ${marker}`} & echo started; wait`, {
    timeoutMs: 1500,
    killGraceMs: 500,
    onStdout: (chunk) => {
      if (chunk.toString().includes('started')) started();
    },
  });
  await running;
  // Both background shells (and the command's own shell, whose text holds the marker) run.
  assert.ok(pgrep(marker).length >= 2, 'the background processes run before the timeout');
  const error = await rejection(pending);
  assert.ok(error instanceof SshError);
  assert.equal(error.code, 'COMMAND_TIMEOUT');
  assert.equal(error.retryable, true);
  assert.match(error.message, /did not finish within 1500 ms/);
  assert.match(error.message, /started/);
  // The one ignoring SIGTERM got SIGKILL after the grace period.
  assert.deepEqual(pgrep(marker), []);
  // The timed-out command released its channel.
  assert.equal((await conn.exec(sh`echo next`)).stdout, 'next\n');
});

test('10 MB of output is drained and streamed, and capture stays bounded', { timeout: 60_000 }, async () => {
  let streamed = 0;
  const heapBefore = process.memoryUsage().heapUsed;
  const result = await conn.exec(sh`head -c 10485760 /dev/zero | tr '\\0' x; echo; echo END; head -c 3000000 /dev/zero >&2`, {
    maxCaptureBytes: 64 * 1024,
    onStdout: (chunk) => (streamed += chunk.length),
  });
  assert.equal(result.exitCode, 0);
  assert.equal(result.stdoutBytes, 10485760 + 5);
  assert.equal(streamed, result.stdoutBytes);
  assert.equal(result.stderrBytes, 3000000);
  assert.ok(result.stdout.length < 64 * 1024 + 100, `captured ${result.stdout.length} chars`);
  assert.match(result.stdout, /^x+\n\.\.\. \d+ bytes omitted \.\.\.\nx+\nEND\n$/);
  assert.ok(result.stderr.length < 64 * 1024 + 100);
  assert.ok(process.memoryUsage().heapUsed - heapBefore < 8 * 1024 * 1024, 'capture does not hold the output');
});

test('shell metacharacters in labels, paths and parameters never execute', async () => {
  const root = fleet.hosts[0]?.installRoot as string;
  const canary = join(root, 'pwned');
  const nasty = [
    `a; touch ${canary}`,
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `"; touch ${canary}; echo "`,
    `'; touch ${canary}; echo '`,
    `x\ntouch ${canary}`,
    `x && touch ${canary} || touch ${canary}`,
    `| touch ${canary}`,
    `> ${canary}`,
    `$HOME \${IFS} *`,
  ];
  for (const value of nasty) {
    const echoed = await conn.run(sh`printf '%s' ${value}`);
    assert.equal(echoed.stdout, value);
    const dir = `${root}/labels/${value}`;
    await conn.run(sh`mkdir -p -- ${dir} && printf '%s' ${value} > ${dir}/param`);
    assert.equal(readFileSync(join(dir, 'param'), 'utf8'), value);
  }
  assert.equal(existsSync(canary), false, 'no value was executed');
});

test('a command still queued for a channel at its deadline times out without running', { timeout: 30_000 }, async () => {
  const narrow = poolFor(fleet, { maxChannelsPerHost: 1 });
  try {
    const single = await narrow.connect(targetFor(fleet, 0));
    const busy = single.exec(sh`sleep 1.5; echo busy`);
    const error = await rejection(single.exec(sh`echo never`, { timeoutMs: 300 }));
    assert.ok(error instanceof SshError);
    assert.equal(error.code, 'COMMAND_TIMEOUT');
    assert.match(error.message, /did not start/);
    assert.equal((await busy).stdout, 'busy\n');
  } finally {
    narrow.closeAll();
  }
});

test('idle connections are closed and transparently reopened', async () => {
  const idle = poolFor(fleet, { idleTimeoutMs: 200 });
  const target = targetFor(fleet, 0);
  try {
    await idle.exec(target, sh`true`);
    assert.equal(idle.stats().open, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(idle.stats().open, 0);
    assert.equal((await idle.exec(target, sh`echo again`)).stdout, 'again\n');
    assert.equal(idle.stats().connectionsOpened, 2);
  } finally {
    idle.closeAll();
  }
});

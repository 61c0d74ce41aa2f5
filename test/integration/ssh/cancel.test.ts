import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFleet, type Fleet } from '../../fleet/fleet.js';
import { createActivities } from '../../../activities/index.js';
import { SshError, sh, uploadFile, type SshConnection, type SshPool } from '../../../src/platform/ssh/index.js';
import { createTestDatabase, eventually, startTestApi, startTestWorker, testConfig } from '../../helpers/harness.js';
import { fleetBase, poolFor, rejection, targetFor } from './helpers.js';

let fleet: Fleet;
let pool: SshPool;
let conn: SshConnection;

before(async () => {
  fleet = await startFleet({ hosts: 1, baseAddress: fleetBase(71) });
  pool = poolFor(fleet);
  conn = await pool.connect(targetFor(fleet, 0));
});

after(async () => {
  pool?.closeAll();
  await fleet?.stop();
});

/** The fleet hosts are this machine, so the host's processes are visible here. */
function pgrep(pattern: string): string[] {
  try {
    return execFileSync('pgrep', ['-f', pattern]).toString().trim().split('\n');
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/** `sleep <n>` with an n no other test uses, so pgrep finds exactly this test's sleeps. */
const uniqueSleep = () => `sleep 3007${randomInt(100_000, 1_000_000)}`;

test('aborting a running command kills its whole process group and rejects with COMMAND_CANCELLED', { timeout: 30_000 }, async () => {
  const sleep = uniqueSleep();
  const seconds = sleep.split(' ')[1] as string;
  const controller = new AbortController();
  const pending = conn.exec(
    // A background child ignoring SIGTERM (sleep inherits the ignored signal) and a foreground one.
    sh`sh -c ${`trap '' TERM; sleep ${seconds}`} & sleep ${seconds} & echo started; wait`,
    {
      timeoutMs: 600_000,
      killGraceMs: 500,
      signal: controller.signal,
      onStdout: (chunk) => {
        if (chunk.toString().includes('started')) controller.abort();
      },
    },
  );
  const error = await rejection(pending);
  assert.ok(error instanceof SshError);
  assert.equal(error.code, 'COMMAND_CANCELLED');
  assert.equal(error.retryable, false);
  assert.match(error.message, /was cancelled and killed/);
  assert.match(error.message, /started/, 'the output so far is in the message');
  // Both sleeps are gone, the TERM-ignoring one by SIGKILL after the grace period.
  assert.deepEqual(pgrep(sleep), []);
  // The cancelled command released its channel.
  assert.equal((await conn.exec(sh`echo next`)).stdout, 'next\n');
});

test('a command aborted while queued for a channel never runs', { timeout: 30_000 }, async () => {
  const narrow = poolFor(fleet, { maxChannelsPerHost: 1 });
  try {
    const target = targetFor(fleet, 0);
    const marker = join(fleet.dir, `queued-${randomBytes(4).toString('hex')}`);
    const blocker = new AbortController();
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const holding = narrow.exec(target, sh`echo holding; sleep 60`, {
      signal: blocker.signal,
      onStdout: () => started(),
    });
    await running;

    const controller = new AbortController();
    const queued = narrow.exec(target, sh`touch ${marker}`, { signal: controller.signal });
    controller.abort();
    const error = await rejection(queued);
    assert.ok(error instanceof SshError);
    assert.equal(error.code, 'COMMAND_CANCELLED');
    assert.match(error.message, /was cancelled before it started/);

    blocker.abort();
    assert.equal((await rejection(holding)).code, 'COMMAND_CANCELLED');
    // The slot went to the next command in line; the cancelled one gave it up without running.
    assert.equal((await narrow.exec(target, sh`echo after`)).stdout, 'after\n');
    assert.equal(existsSync(marker), false, 'the cancelled command never ran');
  } finally {
    narrow.closeAll();
  }
});

test('an already-aborted signal rejects without connecting or opening a channel', async () => {
  const fresh = poolFor(fleet);
  try {
    const marker = join(fleet.dir, `pre-aborted-${randomBytes(4).toString('hex')}`);
    const signal = AbortSignal.abort();
    const viaPool = await rejection(fresh.exec(targetFor(fleet, 0), sh`touch ${marker}`, { signal }));
    assert.equal(viaPool.code, 'COMMAND_CANCELLED');
    assert.equal(fresh.stats().connectionsOpened, 0, 'a cancelled caller does not even connect');
    const viaConnection = await rejection(conn.run(sh`touch ${marker}`, { signal }));
    assert.equal(viaConnection.code, 'COMMAND_CANCELLED');
    assert.equal(existsSync(marker), false);
  } finally {
    fresh.closeAll();
  }
});

test('an aborted upload stops the transfer and leaves no partial file', { timeout: 30_000 }, async () => {
  const localFile = join(fleet.dir, 'big.bin');
  writeFileSync(localFile, randomBytes(32 * 1024 * 1024));
  const dir = join(fleet.hosts[0]?.installRoot as string, 'cancelled-upload');
  mkdirSync(dir, { recursive: true });
  const controller = new AbortController();
  let sentWhenAborted = 0;
  const error = await rejection(
    uploadFile(conn, localFile, join(dir, 'big.bin'), {
      signal: controller.signal,
      onProgress: (sent) => {
        if (sentWhenAborted > 0) return;
        sentWhenAborted = sent;
        controller.abort();
      },
    }),
  );
  assert.ok(error instanceof SshError);
  assert.equal(error.code, 'COMMAND_CANCELLED');
  assert.ok(sentWhenAborted > 0 && sentWhenAborted < 32 * 1024 * 1024, 'aborted mid-transfer');
  assert.deepEqual(readdirSync(dir), [], 'neither the destination nor the temp file is left');
});

test('cancelling a bootstrap operation kills the remote command of its running step', { timeout: 120_000 }, async () => {
  const db = await createTestDatabase();
  const config = testConfig(db);
  const sleep = uniqueSleep();
  const seconds = sleep.split(' ')[1] as string;
  // The real bootstrap workflow and activities; only the install-root command is made slow,
  // by running it behind two long sleeps on the host.
  const worker = await startTestWorker(config, db.pool, (_real, deps) =>
    createActivities({
      ...deps,
      ssh: {
        ...deps.ssh,
        async connect(target) {
          const real = await deps.ssh.connect(target);
          const slow: SshConnection = {
            target: real.target,
            endpoint: real.endpoint,
            hostKeyFingerprint: real.hostKeyFingerprint,
            get closed() {
              return real.closed;
            },
            exec: (command, options) => real.exec(command, options),
            run: (command, options) =>
              real.run(command.text.startsWith('mkdir -p') ? sh`sleep ${seconds} & sleep ${seconds}; ${command}` : command, options),
            withSftp: (fn, timeoutMs, signal) => real.withSftp(fn, timeoutMs, signal),
            close: () => real.close(),
          };
          return slow;
        },
      },
    }),
  );
  const api = await startTestApi(config, db);
  try {
    const [admin, operator] = await Promise.all([api.token('admin'), api.token('operator')]);
    const cred = await api.call('POST', '/api/v1/credentials', {
      token: admin,
      body: { name: 'fleet', username: fleet.username, privateKey: fleet.clientKey },
    });
    assert.equal(cred.status, 201, JSON.stringify(cred.body));
    const finished = (id: string) =>
      eventually(
        async () => {
          const res = await api.call('GET', `/api/v1/operations/${id}`, { token: operator });
          return res.body.operation.finishedAt ? res.body.operation : undefined;
        },
        `operation ${id} to finish`,
        60_000,
      );
    const cluster = await api.call('POST', '/api/v1/clusters', { token: operator, body: { name: 'lab' } });
    assert.equal((await finished(cluster.body.operation.id)).status, 'SUCCEEDED');

    const h = fleet.hosts[0]!;
    const res = await api.call('POST', '/api/v1/clusters/lab/hosts', {
      token: operator,
      body: {
        hosts: [{ hostname: 'node0', address: h.address, port: h.port, credential: 'fleet', installRoot: join(h.installRoot, 'cancel') }],
      },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const op = res.body.operation;
    await eventually(async () => (pgrep(sleep).length >= 2 ? true : undefined), 'the install-root step to run on the host');

    const cancel = await api.call('POST', `/api/v1/operations/${op.id}/cancel`, { token: operator });
    assert.equal(cancel.status, 202, JSON.stringify(cancel.body));
    assert.equal((await finished(op.id)).status, 'CANCELLED');
    const described = await api.core.temporal.workflow.getHandle(op.workflowId).describe();
    assert.equal(described.status.name, 'CANCELLED');
    const host = (await api.call('GET', '/api/v1/clusters/lab/hosts/node0', { token: operator })).body;
    assert.equal(host.status, 'FAILED');

    // The cancellation reached the activity through its heartbeats, and the activity the host.
    const step = await eventually(async () => {
      const { rows } = await db.pool.query(
        `SELECT status, message FROM operation_steps WHERE operation_id = $1 AND step = 'install-root'`,
        [op.id],
      );
      return rows[0]?.status === 'CANCELLED' ? (rows[0] as { message: string }) : undefined;
    }, 'the install-root step to record its cancellation');
    assert.match(step.message, /was cancelled and killed/);
    assert.deepEqual(pgrep(sleep), []);
    assert.equal(existsSync(join(h.installRoot, 'cancel')), false, 'the cancelled step never got to create the install root');
  } finally {
    await api.stop();
    await worker.stop();
    await db.drop();
  }
});

/**
 * The whole of Sophon (`sophon start`: API and worker, embedded Temporal dev server and
 * Postgres) killed with SIGKILL while an escalation waits between steps, then started again on
 * the same SOPHON_HOME: the timer lives in Temporal's store, so step 2 still comes, once,
 * after its wait, and step 1 is not sent again.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { createPool, type Pool } from '../../../src/platform/db/pool.js';
import { createEscalations } from '../../../src/features/notify/escalation-client.js';
import { escalationWorkflowId, progressQuery } from '../../../src/features/notify/workflow/messages.js';
import { eventually } from '../../helpers/harness.js';
import { callSophon, embeddedSophonEnv, killAll, sophonProcess } from '../../helpers/sophon-process.js';
import { insertAlert, startReceiver, type Receiver } from './helpers.js';

const WAIT_SECONDS = 30;

let home: string;
let env: NodeJS.ProcessEnv;
let receiver: Receiver | undefined;
let pool: Pool | undefined;
const started: ChildProcess[] = [];

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'sophon-esc-restart-'));
  await chmod(home, 0o755);
  env = await embeddedSophonEnv(home);
});

after(async () => {
  killAll(started);
  await pool?.end();
  await receiver?.close();
  await rm(home, { recursive: true, force: true });
});

const sophonStart = () => sophonProcess(['start'], env, started);

const call = (method: string, route: string, token: string, body?: unknown) => callSophon(env, method, route, token, body);

/** Parent pid and state of every process, from /proc. */
async function processTable(): Promise<Map<number, { ppid: number; state: string }>> {
  const table = new Map<number, { ppid: number; state: string }>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state && ppid) table.set(pid, { ppid: Number(ppid), state });
  }
  return table;
}

/** The launcher and everything it started: worker and API live in it; Postgres, its backends and Temporal below it. */
async function processTree(root: number): Promise<number[]> {
  const table = await processTable();
  const tree = [root];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, p] of table) if (p.ppid === tree[i] && !tree.includes(pid)) tree.push(pid);
  }
  return tree;
}

/** Gone, or a zombie nobody has reaped yet: either way it runs no more. */
async function dead(pid: number): Promise<boolean> {
  const p = (await processTable()).get(pid);
  return p === undefined || p.state === 'Z';
}

test(
  'SIGKILL of the whole of Sophon during an escalation wait: after the restart step 2 comes after its wait, step 1 is not sent again',
  { timeout: 600_000 },
  async (t) => {
    receiver = await startReceiver();
    const first = sophonStart();
    await first.ready;
    const token = (await readFile(path.join(home, 'admin-token'), 'utf8')).trim();
    for (const name of ['first', 'second']) {
      const res = await call('POST', '/api/v1/notification-channels', token, {
        name,
        type: 'webhook',
        config: { url: `${receiver.url}/${name}` },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const policy = await call('POST', '/api/v1/escalation-policies', token, {
      name: 'two-steps',
      steps: [
        { channels: ['first'], waitSeconds: WAIT_SECONDS },
        { channels: ['second'], waitSeconds: 1 },
      ],
      default: true,
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));

    // The alert row as the alerting side writes it, in this Sophon's own Postgres; its chain
    // started on this Sophon's own Temporal.
    const password = (await readFile(path.join(home, 'postgres', 'password'), 'utf8')).trim();
    pool = createPool(`postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${env.SOPHON_POSTGRES_PORT}/sophon`, { max: 2 });
    const alertId = await insertAlert(pool, { name: 'HdfsNameNodeDown', host: 'n0', service: 'hdfs' });
    const connection = await Connection.connect({ address: `127.0.0.1:${env.TEMPORAL_PORT}` });
    try {
      const client = new Client({ connection });
      await createEscalations(client, 'sophon').start(alertId);
      const handle = client.workflow.getHandle(escalationWorkflowId(alertId));
      await eventually(async () => receiver!.on('/first')[0], 'step 1', 60_000);
      await eventually(
        async () => ((await handle.query(progressQuery)).phase === 'waiting' ? true : undefined),
        'the chain to wait after step 1',
      );
    } finally {
      await connection.close();
    }
    await pool.end();
    pool = undefined;
    const step1 = receiver.on('/first')[0]!;

    // Killed as by a power cut: every process of this Sophon, each by its pid, and its group.
    const tree = await processTree(first.child.pid!);
    assert.ok(tree.length >= 3, `the launcher, Postgres and Temporal run: ${tree.join(' ')}`);
    for (const pid of tree) process.kill(pid, 'SIGKILL');
    killAll([first.child]);
    await first.exited;
    for (const pid of tree) await eventually(async () => ((await dead(pid)) ? true : undefined), `process ${pid} to die`);
    const killedAfter = Date.now() - step1.at;

    const second = sophonStart();
    await second.ready;
    const upAfter = Date.now() - step1.at;
    const step2 = await eventually(async () => receiver!.on('/second')[0], 'step 2 after the restart', 180_000);
    const gap = step2.at - step1.at;
    t.diagnostic(
      `${tree.length} processes killed ${killedAfter} ms after step 1; Sophon up again ${upAfter} ms after step 1; ` +
        `step 2 came ${gap} ms after step 1 (wait ${WAIT_SECONDS * 1000} ms, ${gap - WAIT_SECONDS * 1000} ms late)`,
    );
    assert.ok(killedAfter < WAIT_SECONDS * 1000, 'Sophon died during the wait');
    assert.ok(gap >= WAIT_SECONDS * 1000, `step 2 came ${gap} ms after step 1, before its wait`);
    assert.equal(step2.body.kind, 'firing');
    assert.equal(step2.body.step, 2);
    assert.equal(step2.body.alert.id, alertId);
    assert.equal(receiver.on('/first').length, 1, 'step 1 was not sent again');

    // The restarted Sophon still owns the chain: a resolve through the API reaches both channels.
    const resolved = await call('POST', `/api/v1/alerts/${alertId}/resolve`, token);
    assert.equal(resolved.status, 200, JSON.stringify(resolved.body));
    for (const p of ['/first', '/second']) {
      await eventually(
        async () => (receiver!.on(p).some((h) => h.body.kind === 'resolved') ? true : undefined),
        `the resolved notice on ${p}`,
      );
    }
    assert.equal(receiver.on('/first').filter((h) => h.body.kind === 'firing').length, 1);
    assert.equal(receiver.on('/second').filter((h) => h.body.kind === 'firing').length, 1);

    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.output());
  },
);

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { callSophon, embeddedSophonEnv, killAll, sophonProcess } from '../helpers/sophon-process.js';

/**
 * `sophon start` as a newcomer runs it: embedded Postgres and Temporal in a fresh
 * SOPHON_HOME, then a restart that must find everything again.
 */
let home: string;
let env: NodeJS.ProcessEnv;
const started: ChildProcess[] = [];

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'sophon-home-'));
  await chmod(home, 0o755);
  env = await embeddedSophonEnv(home);
});

after(async () => {
  // Whatever a failed test left of the runs it started.
  killAll(started);
  await rm(home, { recursive: true, force: true });
});

const sophon = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => sophonProcess(args, { ...env, ...extraEnv }, started);

const call = (method: string, route: string, token: string, body?: unknown) => callSophon(env, method, route, token, body);

const portIsFree = (port: string) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer().once('error', () => resolve(false));
    s.listen(Number(port), '127.0.0.1', () => s.close(() => resolve(true)));
  });

test('npm start brings everything up, stops cleanly and finds its data after a restart', { timeout: 240_000 }, async () => {
  const first = sophon(['start']);
  await first.ready;
  const tokenFile = path.join(home, 'admin-token');
  assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
  const token = (await readFile(tokenFile, 'utf8')).trim();

  const ready = await fetch(`http://127.0.0.1:${env.SOPHON_API_PORT}/readyz`);
  assert.equal(ready.status, 200);
  const ui = await fetch(`http://127.0.0.1:${env.TEMPORAL_UI_PORT}/`);
  assert.equal(ui.status, 200, 'the Temporal UI answers');

  const created = await call('POST', '/api/v1/clusters', token, { name: 'persisted' });
  assert.equal(created.status, 202);
  const opId = created.body.operation.id;
  for (let i = 0; i < 100; i++) {
    if ((await call('GET', `/api/v1/operations/${opId}`, token)).body.operation.status === 'SUCCEEDED') break;
    await new Promise((r) => setTimeout(r, 200));
  }

  first.child.kill('SIGINT');
  assert.equal(await first.exited, 0, first.output());
  for (const port of [env.SOPHON_API_PORT!, env.SOPHON_POSTGRES_PORT!, env.TEMPORAL_PORT!, env.TEMPORAL_UI_PORT!]) {
    assert.ok(await portIsFree(port), `port ${port} still taken after stop: an orphan process\n${first.output()}`);
  }

  const second = sophon(['start']);
  await second.ready;
  assert.equal((await readFile(tokenFile, 'utf8')).trim(), token, 'the admin token survives a restart');
  const cluster = await call('GET', '/api/v1/clusters/persisted', token);
  assert.equal(cluster.status, 200);
  assert.equal(cluster.body.status, 'ACTIVE');
  const op = await call('GET', `/api/v1/operations/${opId}`, token);
  assert.equal(op.body.operation.status, 'SUCCEEDED');

  // A port already in use is named, without a stack trace.
  const clash = sophon(['start']);
  assert.equal(await clash.exited, 1);
  assert.match(clash.output(), new RegExp(`sophon: Port ${env.SOPHON_API_PORT} on 127.0.0.1 \\(Sophon API\\) is already in use`));
  assert.doesNotMatch(clash.output(), /\n\s+at /);

  // Killed outright, Sophon leaves Postgres and Temporal running; the next start stops
  // exactly those and carries on with the same data.
  second.child.kill('SIGKILL');
  await second.exited;
  const third = sophon(['start']);
  await third.ready;
  assert.match(third.output(), /stopping the Postgres an earlier Sophon left running/);
  assert.match(third.output(), /stopping the Temporal dev server an earlier Sophon left running/);
  assert.equal((await call('GET', '/api/v1/clusters/persisted', token)).body.status, 'ACTIVE');
  third.child.kill('SIGTERM');
  assert.equal(await third.exited, 0, third.output());
  for (const port of [env.SOPHON_API_PORT!, env.SOPHON_POSTGRES_PORT!, env.TEMPORAL_PORT!, env.TEMPORAL_UI_PORT!]) {
    assert.ok(await portIsFree(port), `port ${port} still taken after stop\n${third.output()}`);
  }
});

test('a bad configuration value stops start-up with one line naming it', async () => {
  const run = sophon(['start'], { SOPHON_API_PORT: 'http' });
  assert.equal(await run.exited, 2);
  assert.equal(run.output().trim(), 'sophon: Invalid configuration: SOPHON_API_PORT: expected a TCP port number (got "http")');
});

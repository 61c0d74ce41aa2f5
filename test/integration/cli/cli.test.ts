/**
 * The `sophon` binary (bin/sophon.js as a child process) against the real API, Temporal,
 * Postgres and sshd fleet, following the README walkthrough: login, a cluster, the fleet's
 * credential and hosts, a 3-server ZooKeeper, a rolling restart watched in a terminal, a host
 * going down mid-restart (HOLDING, exit 3, the decide command) and `ops decide ... retry`.
 * Also the exit codes for bad usage (2) and an unreachable API (4), and API errors printed as
 * their detail and field paths.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { freePort } from '../../helpers/ports.js';
import { cliEnv, runSophon, showRun, SOPHON_ARGS, type CliRun } from '../../helpers/sophon-cli.js';
import { modeOf, srvr, startStack, type Stack } from '../services/helpers.js';

const CLUSTER = 'analytics';
const CLIENT_PORT = 12281;
let s: Stack;
let admin: string;
let home: string;

before(async () => {
  // Hosts go down on purpose here; the reachability check must not mark them UNREACHABLE meanwhile.
  s = await startStack({ hosts: 3, block: 75, cluster: 'setup', env: { SOPHON_HOST_CHECK_INTERVAL_SECONDS: '3600' } });
  admin = await s.api.token('admin');
  home = mkdtempSync(path.join(tmpdir(), 'sophon-cli-home-'));
});
after(async () => {
  await s?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Runs `sophon <args>` as the admin; `env` adds or removes variables. */
const sophon = (args: string[], opts: { env?: Record<string, string | undefined>; cwd?: string } = {}) =>
  runSophon(args, { home, url: s.api.url, token: admin, env: opts.env }, opts.cwd);
const noStack = (r: CliRun) => assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at .+\(.+:\d+:\d+\)/, `no stack trace:\n${showRun(r)}`);
const address = (i: number) => s.fleet.hosts[i]!.address;
const OPERATION_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

test('bad usage exits 2 and an unreachable API exits 4, each with one line and no stack trace', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['bogus'], /unknown command 'bogus'/],
    [['services', 'deploy', 'zookeeper', '-c', CLUSTER], /required option '--placement/],
    [['services', 'deploy', 'zookeeper', '-c', CLUSTER, '--placement', 'server'], /--placement: expected role=host1,host2/],
    [['services', 'restart', 'zookeeper', '-c', CLUSTER, '--batch', 'two'], /--batch: expected a whole number/],
    [['hosts', 'list'], /which cluster\? pass --cluster/],
    [['ops', 'decide', '00000000-0000-0000-0000-000000000000', 'maybe'], /expected one of retry, skip, abort, rollback/],
    [['completion', 'fish'], /expected bash or zsh/],
    [['clusters', 'list', '--url', 'ftp://x'], /expected an http\(s\) URL/],
  ];
  for (const [args, message] of cases) {
    const r = await sophon(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${showRun(r)}`);
    assert.match(r.stderr, message, args.join(' '));
    noStack(r);
  }
  const closed = await freePort();
  const down = await sophon(['clusters', 'list', '--url', `http://127.0.0.1:${closed}`]);
  assert.equal(down.code, 4, showRun(down));
  assert.match(down.stderr, new RegExp(`cannot reach the Sophon API at http://127\\.0\\.0\\.1:${closed} \\(ECONNREFUSED\\)`));
  noStack(down);
  const help = await sophon(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /services/);
});

test('login checks the token and keeps URL and token in a 0600 config file; a local .sophon/admin-token is found by itself', async () => {
  const refused = await sophon(['login', '--url', s.api.url, '--token', 'sph_wrong'], {
    env: { SOPHON_TOKEN: undefined, SOPHON_URL: undefined },
  });
  assert.equal(refused.code, 1, showRun(refused));
  assert.match(refused.stderr, /401/);
  const file = path.join(home, '.config', 'sophon', 'config.json');
  const ok = await sophon(['login', '--url', s.api.url, '--token', admin], { env: { SOPHON_TOKEN: undefined, SOPHON_URL: undefined } });
  assert.equal(ok.code, 0, showRun(ok));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { url: s.api.url, token: admin });
  const viaFile = await sophon(['clusters', 'list', '--json'], { env: { SOPHON_TOKEN: undefined, SOPHON_URL: undefined } });
  assert.equal(viaFile.code, 0, showRun(viaFile));
  assert.ok(JSON.parse(viaFile.stdout).clusters.some((c: { name: string }) => c.name === 'setup'));
  rmSync(file);

  // A checkout where `npm start` runs: ./.sophon/admin-token, no other configuration.
  const checkout = mkdtempSync(path.join(home, 'checkout-'));
  mkdirSync(path.join(checkout, '.sophon'));
  writeFileSync(path.join(checkout, '.sophon', 'admin-token'), admin + '\n', { mode: 0o600 });
  const local = await sophon(['clusters', 'list'], { cwd: checkout, env: { SOPHON_TOKEN: undefined } });
  assert.equal(local.code, 0, showRun(local));
  assert.match(local.stdout, /setup/);
  const none = await sophon(['clusters', 'list'], { cwd: home, env: { SOPHON_TOKEN: undefined } });
  assert.equal(none.code, 1, showRun(none));
  assert.match(none.stderr, /needs a token: pass --token, set SOPHON_TOKEN or run 'sophon login'/);
});

test('walkthrough: cluster, credential and hosts, then a 3-server ZooKeeper deployed with plain progress lines', async () => {
  const created = await sophon(['clusters', 'create', CLUSTER]);
  assert.equal(created.code, 0, showRun(created));
  assert.match(created.stdout, /cluster\.create analytics: SUCCEEDED/);

  const cred = await sophon(['credentials', 'add', 'fleet-key', '--key-file', s.fleet.clientKeyPath, '--username', s.fleet.username]);
  assert.equal(cred.code, 0, showRun(cred));
  assert.doesNotMatch(cred.stdout, /PRIVATE KEY/);
  const creds = JSON.parse((await sophon(['credentials', 'list', '--json'])).stdout);
  assert.ok(creds.credentials.some((c: { name: string }) => c.name === 'fleet-key'));

  for (const [i, h] of s.fleet.hosts.entries()) {
    const added = await sophon([
      'hosts',
      'add',
      '-c',
      CLUSTER,
      '--hostname',
      `host${i + 1}`,
      '--address',
      h.address,
      '--port',
      String(h.port),
      '--credential',
      'fleet-key',
      '--install-root',
      h.installRoot,
    ]);
    assert.equal(added.code, 0, showRun(added));
    assert.match(added.stdout, new RegExp(`host${i + 1}  install-root  SUCCEEDED`), showRun(added));
  }
  const hosts = JSON.parse((await sophon(['hosts', 'list', '-c', CLUSTER, '--json'])).stdout).hosts;
  assert.deepEqual(
    hosts.map((h: { hostname: string; status: string }) => `${h.hostname}:${h.status}`),
    ['host1:READY', 'host2:READY', 'host3:READY'],
  );
  const shown = await sophon(['hosts', 'show', '-c', CLUSTER, 'host1']);
  assert.equal(shown.code, 0, showRun(shown));
  assert.match(shown.stdout, /facts:/);
  assert.match(shown.stdout, /os|kernel/i);

  const deploy = await sophon([
    'services',
    'deploy',
    'zookeeper',
    '-c',
    CLUSTER,
    '--placement',
    'server=host1,host2,host3',
    '--set',
    `clientPort=${CLIENT_PORT}`,
    '--set',
    'adminPort=18180',
    '--set',
    'heapMb=128',
  ]);
  assert.equal(deploy.code, 0, showRun(deploy));
  // Without a terminal, listr2 falls back to one plain line per change.
  for (const host of ['host1', 'host2', 'host3'])
    assert.match(deploy.stdout, new RegExp(`${host} server  start server › start  SUCCEEDED|${host}  install › install`), host);
  assert.match(deploy.stdout, /Temporal UI: http/);
  assert.match(deploy.stdout, new RegExp(`operation ${OPERATION_ID.source} SUCCEEDED`));
  assert.ok(!deploy.stdout.includes('\u001b['), 'no escape codes without a terminal');

  const status = JSON.parse((await sophon(['services', 'status', 'zookeeper', '-c', CLUSTER, '--json'])).stdout).service;
  assert.equal(status.instances.length, 3);
  assert.ok(status.instances.every((i: { desiredState: string }) => i.desiredState === 'RUNNING'));
  const modes = await Promise.all([0, 1, 2].map(async (i) => modeOf(await srvr(address(i), CLIENT_PORT))));
  assert.deepEqual(modes.sort(), ['follower', 'follower', 'leader']);
  const table = await sophon(['services', 'list', '-c', CLUSTER]);
  assert.match(table.stdout, /zookeeper.*ACTIVE/);
});

test('API errors print their detail and field paths, exit 2 for invalid input and 1 for a refusal', async () => {
  const bad = await sophon([
    'services',
    'deploy',
    'zookeeper',
    '-c',
    CLUSTER,
    '--placement',
    'server=host1,ghost,host3',
    '--set',
    'tickTime=fast',
  ]);
  assert.equal(bad.code, 2, showRun(bad));
  assert.match(bad.stderr, /\(4\d\d [A-Z_]+\)/);
  assert.match(bad.stderr, /^\s+(placement\.server\.1|config\.tickTime): /m);
  noStack(bad);
  const missing = await sophon(['services', 'status', 'nosuch', '-c', CLUSTER]);
  assert.equal(missing.code, 1, showRun(missing));
  assert.match(missing.stderr, /nosuch.*\(404 NOT_FOUND\)/);
  const set = await sophon(['services', 'config', 'set', 'zookeeper', '-c', CLUSTER, 'nosuch=1']);
  assert.equal(set.code, 2, showRun(set));
  assert.match(set.stderr, /values\.nosuch: /);
});

test('a reader that closes the pipe early ends the CLI quietly: exit 0, no EPIPE, no stack trace', async () => {
  const id = (await s.call('GET', '/api/v1/operations?limit=1')).body.operations[0].id as string;
  // The reader is gone before the CLI writes a byte, so every write meets a closed pipe.
  const closed = await new Promise<CliRun>((resolve) => {
    const child = spawn(process.execPath, [...SOPHON_ARGS, 'ops', 'show', id], {
      env: cliEnv({ home, url: s.api.url, token: admin }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout: '', stderr }));
  });
  assert.equal(closed.code, 0, showRun(closed));
  assert.equal(closed.stderr, '', showRun(closed));
  // As an operator types it; pipefail makes the CLI's own exit code the pipeline's.
  const piped = await new Promise<CliRun>((resolve) => {
    const child = spawn(
      'bash',
      ['-o', 'pipefail', '-c', `"${process.execPath}" ${SOPHON_ARGS.map((a) => `"${a}"`).join(' ')} ops show ${id} | head -1`],
      {
        env: cliEnv({ home, url: s.api.url, token: admin }),
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
  assert.equal(piped.code, 0, showRun(piped));
  assert.equal(piped.stdout.split('\n').length, 2, `one line: ${showRun(piped)}`);
  assert.doesNotMatch(piped.stderr, /EPIPE|\n\s+at /, showRun(piped));
});

test('ops watch in a terminal draws a line per host with its step while a rolling restart runs', async () => {
  const started = await sophon(['services', 'restart', 'zookeeper', '-c', CLUSTER, '--rolling', '--batch', '1', '--detach', '--json']);
  assert.equal(started.code, 0, showRun(started));
  const id = JSON.parse(started.stdout).operation.id;
  const cmd = `stty cols 160 rows 40; exec ${process.execPath} ${SOPHON_ARGS.join(' ')} ops watch ${id}`;
  const r = await new Promise<CliRun>((resolve) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: cliEnv({ home, url: s.api.url, token: admin, env: { TERM: 'xterm-256color' } }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr: '' }));
  });
  assert.equal(r.code, 0, showRun(r));
  assert.ok(r.stdout.includes('\u001b['), 'drawn with a terminal renderer');
  const text = stripVTControlCharacters(r.stdout);
  for (const host of ['host1', 'host2', 'host3'])
    assert.match(text, new RegExp(`${host} server  restart batch \\d › \\w+`), `${host} line in:\n${text}`);
  assert.match(text, /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/, 'a spinner');
  assert.match(text, /service\.restart analytics\/zookeeper: RUNNING · restart batch \d of 3/);
  assert.match(text, new RegExp(`operation ${id} SUCCEEDED`));
});

test('a host killed mid rolling restart: exit 3 with the reason and the decide command; host back, ops decide retry → exit 0', async () => {
  // The leader goes last; its host's sshd stops while the first batch runs.
  const leader = (await Promise.all([0, 1, 2].map(async (i) => modeOf(await srvr(address(i), CLIENT_PORT))))).indexOf('leader');
  assert.ok(leader >= 0, 'the ensemble has a leader');
  const child = spawn(process.execPath, [...SOPHON_ARGS, 'services', 'restart', 'zookeeper', '-c', CLUSTER, '--rolling', '--batch', '1'], {
    env: cliEnv({ home, url: s.api.url, token: admin }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const held: CliRun = { code: null, stdout: '', stderr: '' };
  const exited = new Promise<void>((resolve) => child.on('exit', (code) => ((held.code = code), resolve())));
  child.stderr.on('data', (d) => (held.stderr += d));
  let stopped: Promise<void> | undefined;
  child.stdout.on('data', (d) => {
    held.stdout += d;
    if (!stopped && /host\d server {2}restart batch 1 › \w+ {2}RUNNING/.test(held.stdout)) stopped = s.fleet.stopHost(leader);
  });
  try {
    await exited;
  } finally {
    await stopped;
    await s.fleet.startHost(leader);
  }
  assert.ok(stopped, `the first batch was seen running:\n${showRun(held)}`);
  assert.equal(held.code, 3, showRun(held));
  assert.match(held.stdout, new RegExp(`HOLDING on host${leader + 1} at restart batch \\d › \\w+: `), showRun(held));
  const decide = new RegExp(`sophon ops decide (${OPERATION_ID.source}) retry`).exec(held.stdout);
  assert.ok(decide, showRun(held));
  assert.match(held.stdout, /Temporal UI: http/);

  const list = JSON.parse((await sophon(['ops', 'list', '-c', CLUSTER, '--status', 'HOLDING', '--json'])).stdout);
  assert.deepEqual(
    list.operations.map((o: { id: string }) => o.id),
    [decide[1]],
  );
  const watching = await sophon(['ops', 'watch', decide[1]!]);
  assert.equal(watching.code, 3, 'watching a HOLDING operation exits 3 at once');

  const retried = await sophon(['ops', 'decide', decide[1]!, 'retry']);
  assert.equal(retried.code, 0, showRun(retried));
  assert.match(retried.stdout, new RegExp(`operation ${decide[1]} SUCCEEDED`));
  const again = await sophon(['ops', 'decide', decide[1]!, 'retry']);
  assert.equal(again.code, 1, showRun(again));
  assert.match(again.stderr, /409 CONFLICT/);
  const shown = JSON.parse((await sophon(['ops', 'show', decide[1]!, '--json'])).stdout).operation;
  assert.equal(shown.status, 'SUCCEEDED');
  assert.ok(
    shown.steps.some((x: { host: string; attempt: number }) => x.host === `host${leader + 1}` && x.attempt > 1),
    'the step on the stopped host was retried',
  );
});

test('config set makes a version and applies it; get, versions and diff show it', async () => {
  const set = await sophon(['services', 'config', 'set', 'zookeeper', '-c', CLUSTER, 'tickTime=2500', '--note', 'from the CLI']);
  assert.equal(set.code, 0, showRun(set));
  assert.match(set.stdout, /service\.reconfigure analytics\/zookeeper: SUCCEEDED/);
  const got = JSON.parse((await sophon(['services', 'config', 'get', 'zookeeper', '-c', CLUSTER, '--json'])).stdout).config;
  assert.equal(got.values.tickTime, 2500);
  assert.equal(got.note, 'from the CLI');
  const versions = await sophon(['services', 'config', 'versions', 'zookeeper', '-c', CLUSTER]);
  assert.match(versions.stdout, /tickTime: 2000 → 2500/);
  const diff = await sophon([
    'services',
    'config',
    'diff',
    'zookeeper',
    String(got.version - 1),
    String(got.version),
    '-c',
    CLUSTER,
    '--host',
    'host1',
  ]);
  assert.equal(diff.code, 0, showRun(diff));
  assert.match(diff.stdout, /^--- host1 server /m);
  assert.match(diff.stdout, /^-tickTime=2000$/m);
  assert.match(diff.stdout, /^\+tickTime=2500$/m);
  const ops = await sophon(['ops', 'list', '-c', CLUSTER]);
  assert.match(ops.stdout, /service\.reconfigure.*SUCCEEDED/);
});

test('services remove through the CLI leaves the hosts clean', async () => {
  const removed = await sophon(['services', 'remove', 'zookeeper', '-c', CLUSTER]);
  assert.equal(removed.code, 0, showRun(removed));
  const list = JSON.parse((await sophon(['services', 'list', '-c', CLUSTER, '--json'])).stdout);
  assert.deepEqual(list.services, []);
});

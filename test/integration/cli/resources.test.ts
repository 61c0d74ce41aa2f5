/**
 * The `sophon` binary (bin/sophon.js as a child process) for the resources beyond clusters,
 * hosts and services, against the real API, Temporal, Postgres and a one-host sshd fleet with a
 * one-server ZooKeeper: service tasks (listed, run and watched), maintenance schedules (create,
 * list, show, pause, resume, trigger, delete), notification channels (tested against a real
 * HTTP receiver), escalation policies, alert rules, the alerts they raise (ack, resolve) and
 * silences. Each refuses bad input with exit 2 and the field path.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually } from '../../helpers/harness.js';
import { runSophon, showRun, type CliRun } from '../../helpers/sophon-cli.js';
import { startStack, type Stack } from '../services/helpers.js';

const CLUSTER = 'res';
let s: Stack;
let admin: string;
let home: string;
let receiver: Server;
const received: Array<{ url: string | undefined; headers: IncomingHttpHeaders; body: string }> = [];

before(async () => {
  // Polls every few seconds so the alert rule's alert fires soon.
  s = await startStack({ hosts: 1, block: 79, cluster: CLUSTER, env: { SOPHON_POLL_INTERVAL_SECONDS: '3' } });
  admin = await s.api.token('admin');
  home = mkdtempSync(path.join(tmpdir(), 'sophon-cli-res-'));
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ url: req.url, headers: req.headers, body });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const res = await s.call('POST', `/api/v1/clusters/${CLUSTER}/services`, {
    service: 'zookeeper',
    placement: { server: ['n0'] },
    config: { clientPort: 14281, adminPort: 18281, heapMb: 128 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, ['SUCCEEDED', 'FAILED', 'CANCELLED', 'HOLDING']);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
});
after(async () => {
  await s?.stop();
  receiver?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

/** Runs `sophon <args>` as the admin, in the test's cluster. */
const sophon = (...args: string[]) => runSophon(args, { home, url: s.api.url, token: admin, env: { SOPHON_CLUSTER: CLUSTER } });
async function ok(...args: string[]): Promise<CliRun> {
  const r = await sophon(...args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${showRun(r)}`);
  return r;
}
const json = async (...args: string[]) => JSON.parse((await ok(...args, '--json')).stdout);
/** Bad input: exit 2, the field path in the message, no stack trace. */
async function refused(field: RegExp, ...args: string[]): Promise<void> {
  const r = await sophon(...args);
  assert.equal(r.code, 2, `${args.join(' ')}: ${showRun(r)}`);
  assert.match(r.stderr, field, args.join(' '));
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
}

test("services tasks lists the definition's tasks; run-task starts an operation and waits for it with each host's step", async () => {
  const table = await ok('services', 'tasks', 'zookeeper');
  assert.match(table.stdout, /health-report .*server .*each/);
  const tasks = (await json('services', 'tasks', 'zookeeper')).tasks;
  assert.ok(tasks.some((t: { name: string }) => t.name === 'purge-snapshots'));

  const run = await ok('services', 'run-task', 'zookeeper', 'health-report', '--param', 'word=srvr', '--hosts', 'n0');
  assert.match(run.stdout, /task.* res\/zookeeper: SUCCEEDED/, showRun(run));
  assert.match(run.stdout, /n0 server .*SUCCEEDED/, showRun(run));
  const detached = await json('services', 'run-task', 'zookeeper', 'health-report', '--detach');
  const op = await s.waitFor(detached.operation.id, ['SUCCEEDED', 'FAILED']);
  assert.equal(op.status, 'SUCCEEDED');
  assert.match(op.steps[0].stdoutTail, /^zk_\w+\t/m, 'mntr (the default word) printed its metrics');

  await refused(/parameters\.word/, 'services', 'run-task', 'zookeeper', 'health-report', '--param', 'word=bogus');
  await refused(/--param: expected key=value/, 'services', 'run-task', 'zookeeper', 'health-report', '--param', 'word');
});

test('schedules: create, list (table and JSON), show, pause, resume, trigger (a run starts its operation), delete; a bad action names its field', async () => {
  const created = await ok(
    'schedules',
    'create',
    'zk-health',
    '--every',
    '86400',
    '--service',
    'zookeeper',
    '--task',
    'health-report',
    '--param',
    'word=ruok',
    '--window',
    '60',
  );
  assert.match(created.stdout, /every 86400s/);
  assert.match(created.stdout, /task zookeeper health-report/);

  const table = await ok('schedules', 'list');
  assert.match(table.stdout, /zk-health .*res .*task zookeeper health-report .*every 86400s/);
  const listed = (await json('schedules', 'list')).schedules.find((x: { name: string }) => x.name === 'zk-health');
  assert.deepEqual([listed.action.parameters, listed.window, listed.paused], [{ word: 'ruok' }, { durationSeconds: 60 }, false]);
  assert.ok(listed.nextRunAt);

  assert.match((await ok('schedules', 'pause', 'zk-health')).stdout, /zk-health: paused/);
  assert.equal((await json('schedules', 'show', 'zk-health')).schedule.paused, true);
  assert.match((await ok('schedules', 'list')).stdout, /zk-health .*│ yes/);
  assert.match((await ok('schedules', 'resume', listed.id)).stdout, /zk-health: resumed, next run \d{4}-/);

  assert.match((await ok('schedules', 'trigger', 'zk-health')).stdout, /zk-health: triggered/);
  const run = await eventually(async () => {
    const r = (await json('schedules', 'show', 'zk-health')).schedule.recentRuns[0];
    return r?.operationId ? r : undefined;
  }, 'the triggered run with its operation');
  assert.equal((await s.waitFor(run.operationId, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
  assert.match((await ok('schedules', 'show', 'zk-health')).stdout, new RegExp(run.operationId));

  await refused(
    /action\.task: zookeeper has no task 'nosuch'/,
    'schedules',
    'create',
    'bad',
    '--every',
    '60',
    '--service',
    'zookeeper',
    '--task',
    'nosuch',
  );
  await refused(/one of --cron .* or --every/, 'schedules', 'create', 'bad', '--service', 'zookeeper', '--restart');
  await refused(
    /--every: expected a whole number/,
    'schedules',
    'create',
    'bad',
    '--every',
    'hourly',
    '--service',
    'zookeeper',
    '--restart',
  );

  assert.match((await ok('schedules', 'delete', 'zk-health')).stdout, /zk-health deleted/);
  assert.match((await ok('schedules', 'list')).stdout, /no schedules/);
  const gone = await sophon('schedules', 'show', 'zk-health');
  assert.equal(gone.code, 1, showRun(gone));
});

test('channels and policies: add, list (table and JSON, no secrets), show, test against a real receiver, remove; bad ones name the field', async () => {
  const { port } = receiver.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/hook/s3cret-path`;
  await ok('channels', 'add', 'ops-hook', '--type', 'webhook', '--hook-url', url, '--header', 'X-Token=t0ken-value');
  const table = await ok('channels', 'list');
  assert.match(table.stdout, new RegExp(`ops-hook .*webhook .*127\\.0\\.0\\.1:${port}`));
  const listed = (await json('channels', 'list')).channels;
  assert.deepEqual(
    listed.map((c: { name: string; type: string }) => `${c.name}:${c.type}`),
    ['ops-hook:webhook'],
  );
  const shown = await ok('channels', 'show', 'ops-hook');
  for (const out of [table.stdout, JSON.stringify(listed), shown.stdout])
    assert.doesNotMatch(out, /s3cret-path|t0ken-value/, 'URL and header values are never shown');

  const tested = await ok('channels', 'test', 'ops-hook');
  assert.match(tested.stdout, /ops-hook: test message sent/);
  assert.equal(received.length, 1);
  assert.equal(received[0]!.url, '/hook/s3cret-path');
  assert.equal(received[0]!.headers['x-token'], 't0ken-value');
  assert.match((await ok('channels', 'show', 'ops-hook')).stdout, /last success .*\d{4}-/);

  await refused(/config\.url: expected an http\(s\) URL/, 'channels', 'add', 'bad', '--type', 'slack', '--hook-url', 'ftp://x');
  await refused(/config\.to/, 'channels', 'add', 'bad', '--type', 'email', '--smtp-host', 'smtp.example', '--from', 'a@example.com');

  const policyFile = path.join(home, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      name: 'oncall',
      steps: [
        { channels: ['ops-hook'], waitSeconds: 300 },
        { channels: ['ops-hook'], waitSeconds: 0 },
      ],
      repeat: 2,
    }),
  );
  assert.match((await ok('policies', 'add', '--file', policyFile)).stdout, /policy oncall added: ops-hook, wait 300s → ops-hook/);
  await ok('policies', 'add', '--json-body', '{"name":"quiet","steps":[{"channels":["ops-hook"],"waitSeconds":60}],"default":true}');
  assert.match((await ok('policies', 'list')).stdout, /quiet .*ops-hook, wait 60s .*yes/);
  const policies = (await json('policies', 'list')).policies;
  assert.deepEqual(policies.map((p: { name: string; repeat: number }) => `${p.name}:${p.repeat}`).sort(), ['oncall:2', 'quiet:1']);
  const oncall = await ok('policies', 'show', 'oncall');
  assert.match(oncall.stdout, /│ 2 +│ ops-hook +│ 0s/);
  assert.equal((await json('policies', 'show', 'oncall')).steps[0].waitSeconds, 300);

  await refused(
    /steps\.0\.channels\.1: no notification channel 'pager'/,
    'policies',
    'add',
    '--json-body',
    '{"name":"x","steps":[{"channels":["ops-hook","pager"],"waitSeconds":0}]}',
  );
  await refused(/--json-body: not valid JSON/, 'policies', 'add', '--json-body', '{name');
  await refused(/--file: cannot read .*missing\.json \(ENOENT\)/, 'policies', 'add', '--file', path.join(home, 'missing.json'));

  const inUse = await sophon('channels', 'remove', 'ops-hook');
  assert.equal(inUse.code, 1, `a channel a policy names stays: ${showRun(inUse)}`);
  await ok('policies', 'remove', 'oncall');
  await ok('policies', 'remove', 'quiet');
  assert.match((await ok('policies', 'list')).stdout, /no policies/);
  assert.match((await ok('channels', 'remove', 'ops-hook')).stdout, /ops-hook removed/);
  assert.match((await ok('channels', 'list')).stdout, /no channels/);
});

test('rules, alerts and silences: a rule fires on the next polls, a silence mutes it, ack and resolve; bad ones name the field', async () => {
  const added = await ok(
    'rules',
    'add',
    'ZkServing',
    '--expr',
    'up{service="zookeeper"}',
    '--op',
    '>',
    '--threshold',
    '0',
    '--severity',
    'info',
    '-c',
    CLUSTER,
    '--label',
    'team=data',
    '--summary',
    'ZooKeeper is up',
  );
  assert.match(added.stdout, /rule ZkServing added \([0-9a-f-]{36}\): up\{service="zookeeper"\} > 0/);
  const rule = (await json('rules', 'list', '-c', CLUSTER)).rules.find((r: { name: string }) => r.name === 'ZkServing');
  assert.deepEqual([rule.source, rule.cluster, rule.labels], ['user', CLUSTER, { team: 'data' }]);
  assert.match((await ok('rules', 'list')).stdout, /ZkServing .*user .*info .*up\{service="zookeeper"\} > 0 .*res/);
  assert.match((await ok('rules', 'show', rule.id)).stdout, /team=data/);
  await refused(/expr: column \d+/, 'rules', 'add', 'Bad', '--expr', 'up{service=', '--op', '>', '--threshold', '0', '--severity', 'info');
  await refused(
    /severity: unknown severity 'loud'/,
    'rules',
    'add',
    'Bad',
    '--expr',
    'up',
    '--op',
    '>',
    '--threshold',
    '0',
    '--severity',
    'loud',
  );
  await refused(
    /--threshold: expected a number/,
    'rules',
    'add',
    'Bad',
    '--expr',
    'up',
    '--op',
    '>',
    '--threshold',
    'lots',
    '--severity',
    'info',
  );

  const silenced = await ok('silences', 'add', '--match', 'alertname=ZkServing', '--duration', '2h', '--comment', 'cli test');
  assert.match(silenced.stdout, /silence [0-9a-f-]{36} on alertname=ZkServing until \d{4}-/);
  const silence = (await json('silences', 'list')).silences.find((x: { comment: string }) => x.comment === 'cli test');
  assert.deepEqual(silence.matchers, { alertname: 'ZkServing' });
  assert.match((await ok('silences', 'list')).stdout, /alertname=ZkServing .*cli test/);
  await refused(/--duration: expected a duration/, 'silences', 'add', '--match', 'alertname=x', '--duration', '2 days');
  await refused(/endsAt: expected a time in the future/, 'silences', 'add', '--match', 'alertname=x', '--until', '2001-01-01T00:00:00Z');

  const alert = await eventually(
    async () => {
      const found = (await json('alerts', 'list', '-c', CLUSTER, '--state', 'firing')).alerts.find(
        (a: { rule: string }) => a.rule === 'ZkServing',
      );
      return found;
    },
    'the rule to fire',
    60_000,
  );
  assert.deepEqual([alert.severity, alert.silenced, alert.labels.team], ['info', true, 'data']);
  assert.match(
    (await ok('alerts', 'list', '--severity', 'info')).stdout,
    new RegExp(`${alert.id} .*ZkServing .*firing \\(silenced\\) .*info`),
  );
  await refused(/state/, 'alerts', 'list', '--state', 'burning');

  assert.match((await ok('alerts', 'ack', alert.id, '--note', 'looking')).stdout, /ZkServing .*: acknowledged by /);
  const shown = await ok('alerts', 'show', alert.id);
  assert.match(shown.stdout, /acknowledged .*: looking/);
  assert.match(shown.stdout, /firing .*acknowledged/);
  assert.match((await ok('alerts', 'resolve', alert.id)).stdout, /: resolved/);
  assert.equal((await json('alerts', 'show', alert.id)).alert.state, 'resolved');

  assert.match((await ok('silences', 'remove', silence.id)).stdout, /removed/);
  assert.ok(!(await json('silences', 'list')).silences.some((x: { id: string }) => x.id === silence.id));
  assert.match((await ok('rules', 'remove', rule.id)).stdout, /removed/);
  const gone = await sophon('rules', 'show', rule.id);
  assert.equal(gone.code, 1, showRun(gone));
});

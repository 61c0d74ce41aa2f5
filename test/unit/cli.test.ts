/** The CLI's pure parts (argument parsing, where the API and token come from) and its completion script run in a real bash. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { configPath, formatProblem, resolveTarget, writeConfigFile } from '../../src/cli/api-client.js';
import { channelBody } from '../../src/cli/commands/channels.js';
import { ruleBody } from '../../src/cli/commands/rules.js';
import { scheduleBody } from '../../src/cli/commands/schedules.js';
import { silenceBody } from '../../src/cli/commands/silences.js';
import { jsonObject, keyValues, placementOf, typed } from '../../src/cli/commands/values.js';
import { CliError } from '../../src/cli/output.js';
import { hostLine, summary } from '../../src/cli/watch.js';
import { SOPHON_ARGS } from '../helpers/sophon-cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sophon-cli-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('--placement and --set parse into the deploy body; malformed ones are usage errors', () => {
  assert.deepEqual(placementOf(['server=n1,n2, n3', 'observer=n4']), { server: ['n1', 'n2', 'n3'], observer: ['n4'] });
  assert.deepEqual(keyValues(['heapMb=256', 'ssl=true', 'name=a=b', 'ratio=0.5'], '--set', typed), {
    heapMb: 256,
    ssl: true,
    name: 'a=b',
    ratio: 0.5,
  });
  for (const bad of [['server'], ['server='], ['=n1']]) {
    assert.throws(
      () => placementOf(bad),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && /--placement/.test(e.message),
    );
  }
  assert.deepEqual(keyValues(['port=3000', 'empty='], '--label'), { port: '3000', empty: '' });
  for (const bad of ['novalue', '=x']) {
    assert.throws(
      () => keyValues([bad], '--label'),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message === `--label: expected key=value, got "${bad}"`,
    );
  }
});

const usageError = (pattern: RegExp) => (e: unknown) => e instanceof CliError && e.exitCode === 2 && pattern.test(e.message);

test('schedules create: --cron or --every, and --task, --restart or --action-json build the API body', () => {
  const none = { param: [] as string[] };
  assert.deepEqual(
    scheduleBody('nightly', 'c1', {
      ...none,
      cron: '30 3 * * 0',
      timezone: 'Europe/Paris',
      service: 'zookeeper',
      task: 'purge-snapshots',
      param: ['keep=4'],
      hosts: ['n1'],
      window: 600,
    }),
    {
      name: 'nightly',
      cluster: 'c1',
      spec: { cron: '30 3 * * 0', timezone: 'Europe/Paris' },
      action: { kind: 'task', service: 'zookeeper', task: 'purge-snapshots', parameters: { keep: 4 }, hosts: ['n1'] },
      window: { durationSeconds: 600 },
    },
  );
  assert.deepEqual(scheduleBody('r', 'c1', { ...none, every: 60, service: 'zookeeper', restart: true, paused: true }), {
    name: 'r',
    cluster: 'c1',
    spec: { everySeconds: 60 },
    action: { kind: 'restart', service: 'zookeeper' },
    paused: true,
  });
  assert.deepEqual(
    scheduleBody('u', 'c1', { ...none, every: 5, actionJson: '{"kind":"upgrade","service":"zookeeper","version":"3.9.3"}' }).action,
    { kind: 'upgrade', service: 'zookeeper', version: '3.9.3' },
  );
  assert.throws(() => scheduleBody('x', 'c', { ...none, service: 's', restart: true }), usageError(/one of --cron .* or --every/));
  assert.throws(
    () => scheduleBody('x', 'c', { ...none, cron: '* * * * *', every: 5, service: 's', restart: true }),
    usageError(/one of --cron/),
  );
  assert.throws(
    () => scheduleBody('x', 'c', { ...none, every: 5, timezone: 'UTC', service: 's', restart: true }),
    usageError(/--timezone goes with --cron/),
  );
  assert.throws(() => scheduleBody('x', 'c', { ...none, every: 5, service: 's', restart: true, task: 't' }), usageError(/one of --task/));
  assert.throws(() => scheduleBody('x', 'c', { ...none, every: 5, task: 't' }), usageError(/--task needs --service/));
  assert.throws(() => scheduleBody('x', 'c', { ...none, every: 5, actionJson: '{kind' }), usageError(/--action-json: not valid JSON/));
  assert.throws(
    () => scheduleBody('x', 'c', { ...none, every: 5, service: 's', task: 't', param: ['keep'] }),
    usageError(/--param: expected key=value/),
  );
});

test("channels add builds the config from its type's flags or --config-json; JSON bodies must be objects", () => {
  assert.deepEqual(channelBody('hook', { type: 'webhook', hookUrl: 'http://h/x', header: ['Authorization=Bearer a=b'] }), {
    name: 'hook',
    type: 'webhook',
    config: { url: 'http://h/x', headers: { Authorization: 'Bearer a=b' } },
  });
  assert.deepEqual(
    channelBody('mail', {
      type: 'email',
      header: [],
      smtpHost: 'smtp.example',
      smtpPort: 587,
      username: 'u',
      password: 'p',
      from: 'a@example.com',
      to: ['b@example.com', 'c@example.com'],
    }),
    {
      name: 'mail',
      type: 'email',
      config: {
        host: 'smtp.example',
        port: 587,
        username: 'u',
        password: 'p',
        from: 'a@example.com',
        to: ['b@example.com', 'c@example.com'],
      },
    },
  );
  assert.deepEqual(channelBody('s', { type: 'slack', header: [], configJson: '{"url":"https://hooks.slack.com/x"}' }), {
    name: 's',
    type: 'slack',
    config: { url: 'https://hooks.slack.com/x' },
  });
  assert.throws(
    () => channelBody('s', { type: 'slack', hookUrl: 'http://x', header: ['a=b'] }),
    usageError(/--header goes with --type webhook/),
  );
  assert.throws(() => jsonObject('[1]', '--json-body'), usageError(/--json-body: expected a JSON object/));
  assert.throws(() => jsonObject('nope', '--json-body'), usageError(/--json-body: not valid JSON/));
});

test("rules add and silences add: typed threshold, labels, --duration in the rules' units or --until", () => {
  assert.deepEqual(
    ruleBody('Up', { expr: 'up', op: '<', threshold: '0.5', for: '1m', severity: 'critical', service: 'zookeeper', label: ['team=data'] }),
    {
      name: 'Up',
      expr: 'up',
      op: '<',
      threshold: 0.5,
      for: '1m',
      severity: 'critical',
      service: 'zookeeper',
      labels: { team: 'data' },
    },
  );
  assert.throws(
    () => ruleBody('Up', { expr: 'up', op: '<', threshold: 'one', severity: 'info', label: [] }),
    usageError(/--threshold: expected a number/),
  );
  assert.throws(() => ruleBody('Up', { expr: 'up', op: '<', threshold: ' ', severity: 'info', label: [] }), usageError(/--threshold/));
  assert.deepEqual(silenceBody({ match: ['service=zookeeper', 'severity=info'], duration: '2h', comment: 'upgrade' }), {
    matchers: { service: 'zookeeper', severity: 'info' },
    durationSeconds: 7200,
    comment: 'upgrade',
  });
  assert.deepEqual(silenceBody({ match: ['host=n1'], until: '2030-01-01T00:00:00Z' }), {
    matchers: { host: 'n1' },
    endsAt: '2030-01-01T00:00:00Z',
  });
  assert.throws(() => silenceBody({ match: [], duration: '1h' }), usageError(/at least one --match/));
  assert.throws(() => silenceBody({ match: ['a=b'] }), usageError(/one of --duration/));
  assert.throws(() => silenceBody({ match: ['a=b'], duration: '2d' }), usageError(/--duration: expected a duration/));
  assert.throws(() => silenceBody({ match: ['a=b'], duration: '0s' }), usageError(/--duration/));
});

test('the API and token come from flags, then environment, then the login file, then ./.sophon/admin-token', () => {
  const env = { HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'xdg') };
  const cwd = path.join(dir, 'checkout');
  mkdirSync(path.join(cwd, '.sophon'), { recursive: true });
  writeFileSync(path.join(cwd, '.sophon', 'admin-token'), 'sph_local\n');
  assert.deepEqual(resolveTarget({}, env, cwd), { url: 'http://127.0.0.1:8686', token: 'sph_local' });
  assert.deepEqual(resolveTarget({}, env, dir), { url: 'http://127.0.0.1:8686', token: undefined });
  mkdirSync(path.join(dir, 'xdg', 'sophon'), { recursive: true });
  writeFileSync(configPath(env), JSON.stringify({ url: 'http://file:1', token: 'sph_file' }));
  assert.deepEqual(resolveTarget({}, env, cwd), { url: 'http://file:1', token: 'sph_file' });
  assert.deepEqual(resolveTarget({}, { ...env, SOPHON_URL: 'http://env:2/', SOPHON_TOKEN: 'sph_env' }, cwd), {
    url: 'http://env:2',
    token: 'sph_env',
  });
  assert.deepEqual(
    resolveTarget({ url: 'https://flag:3', token: 'sph_flag' }, { ...env, SOPHON_URL: 'http://env:2', SOPHON_TOKEN: 'sph_env' }, cwd),
    { url: 'https://flag:3', token: 'sph_flag' },
  );
  assert.throws(
    () => resolveTarget({ url: 'not a url' }, env, cwd),
    (e: unknown) => e instanceof CliError && e.exitCode === 2,
  );
  writeFileSync(configPath(env), '{oops');
  assert.throws(
    () => resolveTarget({}, env, cwd),
    (e: unknown) => e instanceof CliError && /not valid JSON/.test(e.message),
  );
  assert.equal(configPath({ HOME: '/home/ops' }), '/home/ops/.config/sophon/config.json');
});

test('login writes the config file readable by its owner only, also over a looser existing file', async () => {
  const env = { HOME: path.join(dir, 'home2') };
  mkdirSync(path.join(dir, 'home2', '.config', 'sophon'), { recursive: true });
  writeFileSync(configPath(env), '{}', { mode: 0o644 });
  const file = await writeConfigFile({ url: 'http://a:1', token: 'sph_x' }, env);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), { url: 'http://a:1', token: 'sph_x' });
});

test('API problems print their detail and every field path', () => {
  const text = formatProblem({
    status: 400,
    code: 'VALIDATION_FAILED',
    detail: 'Invalid request',
    errors: [{ path: 'placement.server.1', message: 'no host ghost' }],
  });
  assert.equal(text, 'Invalid request (400 VALIDATION_FAILED)\n  placement.server.1: no host ghost');
});

test('progress lines and the HOLDING summary name the host, step, reason and the decide command', () => {
  const step = {
    host: 'n2',
    role: 'server',
    phase: 'restart batch 2 of 3',
    step: 'stop',
    status: 'FAILED',
    attempt: 3,
    exitCode: 255,
    durationMs: 10,
    stdoutTail: null,
    stderrTail: 'connect ECONNREFUSED\n',
    message: 'cannot connect',
    startedAt: null,
    finishedAt: null,
  };
  assert.equal(hostLine('n2', step), 'n2 server  restart batch 2 of 3 › stop  FAILED (attempt 3)');
  assert.equal(hostLine('n3', undefined), 'n3  waiting');
  const text = summary({
    id: 'op1',
    type: 'service.restart',
    status: 'HOLDING',
    cluster: 'c',
    service: 'zookeeper',
    workflowId: 'w',
    runId: null,
    temporalUiUrl: 'http://ui/x',
    requestedBy: 'me',
    createdAt: '',
    startedAt: null,
    finishedAt: null,
    percent: null,
    input: {},
    result: null,
    error: null,
    phase: 'restart batch 2 of 3',
    canRollback: false,
    steps: [step],
    holding: [{ host: 'n2', role: 'server', phase: 'restart batch 2 of 3', step: 'stop', reason: 'cannot connect' }],
  });
  assert.match(text, /HOLDING on n2 at restart batch 2 of 3 › stop: cannot connect/);
  assert.match(text, /^ {4}sophon ops decide op1 retry$/m);
  assert.match(text, /\| connect ECONNREFUSED/);
  assert.match(text, /Temporal UI: http:\/\/ui\/x/);
  assert.doesNotMatch(text, /rollback/, 'rollback is offered only when the operation can roll back');
});

test('sophon completion bash completes commands, subcommands and options from the commander tree', () => {
  const script = execFileSync(process.execPath, [...SOPHON_ARGS, 'completion', 'bash'], { encoding: 'utf8' });
  writeFileSync(path.join(dir, 'complete.bash'), script);
  const complete = (...words: string[]) =>
    execFileSync(
      'bash',
      [
        '-c',
        `source ${path.join(dir, 'complete.bash')}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _sophon_complete; echo "\${COMPREPLY[@]}"`,
      ],
      {
        encoding: 'utf8',
      },
    )
      .trim()
      .split(/\s+/);
  assert.deepEqual(complete('sophon', 'se'), ['services']);
  assert.ok(complete('sophon', 'services', '').includes('deploy'));
  assert.deepEqual(complete('sophon', 'services', 'config', 'ro'), ['rollback']);
  assert.ok(complete('sophon', 'services', 'restart', 'zookeeper', '--').includes('--rolling'));
  assert.ok(complete('sophon', 'ops', '-c', 'x', '').includes('decide'));
  assert.deepEqual(complete('sophon', 'services', 'run'), ['run-task']);
  assert.ok(complete('sophon', 'schedules', 'create', 'n', '--').includes('--every'));
  assert.deepEqual(complete('sophon', 'ch'), ['channels']);
  assert.deepEqual(complete('sophon', 'alerts', 'a'), ['ack']);
  assert.ok(complete('sophon', 'silences', 'add', '--').includes('--duration'));
  const zsh = execFileSync(process.execPath, [...SOPHON_ARGS, 'completion', 'zsh'], { encoding: 'utf8' });
  assert.match(zsh, /^#compdef sophon/);
  assert.match(zsh, /'sophon services config'\) echo '[^']*rollback/);
  execFileSync('bash', ['-n', '-c', script]);
});

/**
 * A real Kafka cluster in KRaft mode through the API on a real sshd fleet (3 hosts, each with a
 * controller and a broker): deploy with storage formatted once under the service's cluster id,
 * the create-topic task (RF 3, min ISR 2), and a rolling restart and a rolling upgrade while the
 * package's verifiable producer (acks=all) writes, after which its verifiable consumer reads
 * every acknowledged message. Bad input is refused with the field path; Kafka's own refusal of
 * a replication factor above the broker count reaches the operator without a stack trace.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { shortIdOf } from '../../../src/features/defs/templates.js';
import { eventually } from '../../helpers/harness.js';
import { startStack, type Stack } from '../services/helpers.js';

let s: Stack;
/** The package's tools, unpacked for the test's own producer and consumer (upgrades replace the hosts' copies). */
let tools: string;
const OLD = '4.1.1';
const NEW = '4.2.0';
const HOSTS = ['n0', 'n1', 'n2'];
const P = '/api/v1/clusters/kf/services/kafka';
const FINAL = ['SUCCEEDED', 'FAILED', 'HOLDING', 'CANCELLED'];

before(async () => {
  s = await startStack({ hosts: 3, block: 111, cluster: 'kf' });
  tools = mkdtempSync(path.join(tmpdir(), 'kafka-tools-'));
  execFileSync('tar', ['-xzf', path.join(s.config.packageRepo, `kafka-${OLD}-noarch.tar.gz`), '-C', tools]);
});
after(async () => {
  for (const c of clients) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await s?.stop();
  if (tools) rmSync(tools, { recursive: true, force: true });
});

type Step = {
  host: string;
  role: string;
  phase: string;
  step: string;
  status: string;
  message?: string;
  stderrTail?: string;
  startedAt: string;
  finishedAt: string;
};
const stepsOf = async (id: string): Promise<Step[]> => (await s.call('GET', `/api/v1/operations/${id}`)).body.operation.steps;
const address = (h: string) => s.fleet.hosts[Number(h.slice(1))]!.address;
const root = (h: string) => s.fleet.hosts[Number(h.slice(1))]!.installRoot;
const pidOf = (h: string, role: string) => Number(readFileSync(path.join(root(h), `kafka/run/${role}/${role}.pid`), 'utf8').trim());
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const bootstrap = () => HOSTS.map((h) => `${address(h)}:9092`).join(',');
const tool = (name: string, args: string[]) => execFileSync(path.join(tools, 'bin', name), args, { encoding: 'utf8', timeout: 60_000 });
/** The controller's node id, from its rendered configuration. */
const nodeIdOf = (h: string) =>
  /^node\.id=(\d+)$/m.exec(readFileSync(path.join(root(h), 'kafka/conf/controller/controller.properties'), 'utf8'))![1]!;
const activeController = () => {
  const id = /^LeaderId:\s+(\d+)$/m.exec(
    tool('kafka-metadata-quorum.sh', ['--bootstrap-controller', `${address('n0')}:9093`, 'describe', '--status']),
  )![1];
  return HOSTS.find((h) => nodeIdOf(h) === id)!;
};

/** Client processes the test started, stopped by pid at the end whatever happens. */
const clients: ChildProcess[] = [];
function client(name: string, args: string[], onRecord: (r: Record<string, any>) => void) {
  const child = spawn(path.join(tools, 'bin', name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  clients.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) onRecord(JSON.parse(line));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

/** The verifiable producer with acks=all, retrying (the tool's own default is no retries), until stopped. */
function produce(topic: string) {
  const config = path.join(tools, `producer-${topic}.properties`);
  writeFileSync(config, 'enable.idempotence=true\nretries=2147483647\ndelivery.timeout.ms=120000\n');
  const acked = new Set<string>();
  let errors = 0;
  const p = client(
    'kafka-verifiable-producer.sh',
    [
      '--bootstrap-server',
      bootstrap(),
      '--topic',
      topic,
      '--max-messages',
      '-1',
      '--throughput',
      '100',
      '--acks',
      '-1',
      '--producer.config',
      config,
    ],
    (r) => {
      if (r.name === 'producer_send_success') acked.add(r.value);
      if (r.name === 'producer_send_error') errors++;
    },
  );
  return {
    acked,
    errors: () => errors,
    async stop() {
      p.child.kill('SIGTERM');
      await p.exited;
    },
  };
}

/**
 * Reads `topic` from the start with the verifiable consumer until every value of `expected` came,
 * or until no record came for 60 s (the consumer caught up with all there is).
 */
async function consumeAll(topic: string, expected: Set<string>): Promise<{ missing: string[]; read: number }> {
  const seen = new Set<string>();
  let read = 0;
  let owed = expected.size;
  let last = Date.now();
  const c = client(
    'kafka-verifiable-consumer.sh',
    ['--bootstrap-server', bootstrap(), '--topic', topic, '--group-id', `check-${Date.now()}`, '--reset-policy', 'earliest', '--verbose'],
    (r) => {
      if (r.name !== 'record_data') return;
      read++;
      last = Date.now();
      if (expected.has(r.value) && !seen.has(r.value)) owed--;
      seen.add(r.value);
    },
  );
  let running = true;
  void c.exited.then(() => (running = false));
  while (running && owed > 0 && Date.now() - last < 60_000) await new Promise((r) => setTimeout(r, 500));
  c.child.kill('SIGTERM');
  await c.exited;
  return { missing: [...expected].filter((v) => !seen.has(v)), read };
}

test('bad input: an even number of controllers is a 422 at placement.controller; bad task parameters are 400s; nothing runs', async () => {
  const before = (await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length;
  const res = await s.call('POST', '/api/v1/clusters/kf/services', {
    service: 'kafka',
    placement: { controller: ['n0', 'n1'], broker: HOSTS },
  });
  assert.equal(res.status, 422, JSON.stringify(res.body));
  const error = res.body.errors.find((e: { path: string }) => e.path === 'placement.controller');
  assert.ok(error, JSON.stringify(res.body.errors));
  assert.match(error.message, /odd number of hosts/);
  const heap = await s.call('POST', '/api/v1/clusters/kf/services', {
    service: 'kafka',
    placement: { controller: ['n0'], broker: ['n0'] },
    config: { heapMb: 8 },
  });
  assert.equal(heap.status, 400, JSON.stringify(heap.body));
  assert.ok(heap.body.errors.some((e: { path: string }) => e.path === 'config.heapMb'));
  assert.equal((await s.call('GET', '/api/v1/operations?limit=500')).body.operations.length, before, 'no operation was created');
});

test('3 controllers and 3 brokers deploy: storage formatted once with the cluster id, a quorum with an active controller, three registered brokers', async () => {
  const res = await s.call('POST', '/api/v1/clusters/kf/services', {
    service: 'kafka',
    version: OLD,
    placement: { controller: HOSTS, broker: HOSTS },
    config: { heapMb: 192, controllerHeapMb: 128, groupInitialRebalanceDelayMs: 0 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL, 600_000);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));

  const svc = (await s.call('GET', `${P}`)).body.service;
  const clusterId = shortIdOf(svc.id);
  const steps = await stepsOf(op.id);
  for (const h of HOSTS) {
    for (const role of ['controller', 'broker']) {
      const init = steps.filter((x) => x.host === h && x.role === role && x.step === 'init: format storage');
      assert.deepEqual(
        init.map((x) => x.status),
        ['SUCCEEDED'],
        `${role}@${h} formatted once`,
      );
      const meta = readFileSync(path.join(root(h), `kafka/data/${role}/meta.properties`), 'utf8');
      assert.ok(meta.includes(`\ncluster.id=${clusterId}\n`), `${role}@${h} has cluster id ${clusterId}: ${meta}`);
      assert.ok(alive(pidOf(h, role)), `${role}@${h} runs`);
    }
  }
  for (const i of svc.instances) assert.deepEqual([i.version, i.observedState], [OLD, 'RUNNING'], `${i.role}@${i.host}`);

  const status = tool('kafka-metadata-quorum.sh', ['--bootstrap-controller', `${address('n1')}:9093`, 'describe', '--status']);
  assert.match(status, new RegExp(`^ClusterId:\\s+${clusterId}$`, 'm'));
  assert.match(status, /^LeaderId:\s+300[123]$/m);
  assert.equal((/^CurrentVoters:.*$/m.exec(status)![0].match(/"id": 300\d/g) ?? []).length, 3, status);
  const brokers = tool('kafka-broker-api-versions.sh', ['--bootstrap-server', bootstrap()]);
  for (const h of HOSTS) assert.match(brokers, new RegExp(`${address(h).replace(/\./g, '\\.')}:9092 \\(id: \\d .*isFenced: false\\)`));
});

test('metrics: every series the default alerts read is served by the JMX exporter; the default rules exist', async () => {
  const scrape = async (h: string, port: number) => (await fetch(`http://${address(h)}:${port}/metrics`)).text();
  const broker = await scrape('n0', 7071);
  const controller = await scrape('n0', 7072);
  for (const series of [
    /^kafka_server_replicamanager_underreplicatedpartitions 0\.0$/m,
    /^kafka_server_replicamanager_isrshrinks_total \d/m,
    /^kafka_server_request_handler_avg_idle_ratio \d/m,
    /^kafka_raft_current_leader 300\d/m,
    /^jvm_memory_used_bytes\{area="heap"\} \d/m,
    /^jvm_memory_max_bytes\{area="heap"\} \d/m,
  ])
    assert.match(broker, series);
  assert.match(controller, /^kafka_controller_offlinepartitionscount 0\.0$/m);
  assert.match(controller, /^kafka_raft_current_leader 300\d/m);

  const rules = ((await s.call('GET', '/api/v1/alert-rules')).body.rules as Array<{ name: string; service: string; source: string }>)
    .filter((r) => r.source === 'definition' && r.service === 'kafka')
    .map((r) => r.name)
    .sort();
  assert.deepEqual(rules, [
    'KafkaBrokerDown',
    'KafkaControllerDown',
    'KafkaIsrShrinks',
    'KafkaJvmHeapHigh',
    'KafkaNoActiveController',
    'KafkaOfflinePartitions',
    'KafkaRequestHandlersBusy',
    'KafkaUnderReplicatedPartitions',
  ]);
});

test('create-topic makes a topic with RF 3 and min ISR 2; describe-topics shows it; bad parameters are 400s', async () => {
  const res = await s.call('POST', `${P}/tasks/create-topic`, {
    parameters: { topic: 'orders', partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.match(op.steps[0].stdoutTail, /Topic: orders\s.*PartitionCount: 3\s+ReplicationFactor: 3\s+Configs: min\.insync\.replicas=2/);

  const described = await s.call('POST', `${P}/tasks/describe-topics`, {});
  const d = await s.waitFor(described.body.operation.id, FINAL);
  assert.equal(d.status, 'SUCCEEDED', JSON.stringify(d));
  assert.equal((d.steps[0].stdoutTail.match(/Topic: orders\tPartition: \d/g) ?? []).length, 3, d.steps[0].stdoutTail);

  for (const [parameters, field] of [
    [{ topic: 'two words' }, 'parameters.topic'],
    [{ topic: 'x', replicationFactor: 0 }, 'parameters.replicationFactor'],
    [{}, 'parameters.topic'],
  ] as const) {
    const bad = await s.call('POST', `${P}/tasks/create-topic`, { parameters });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.ok(
      bad.body.errors.some((e: { path: string }) => e.path === field),
      `${field} in ${JSON.stringify(bad.body.errors)}`,
    );
  }
});

test("a replication factor above the broker count fails the task with Kafka's own message and no stack trace", async () => {
  const res = await s.call('POST', `${P}/tasks/create-topic`, {
    parameters: { topic: 'too-wide', replicationFactor: 4, minInsyncReplicas: 2 },
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL);
  assert.equal(op.status, 'HOLDING', JSON.stringify(op));
  const reason: string = op.holding[0].reason;
  assert.match(reason, /replication factor of 4 cannot be reached because only 3 broker\(s\) are registered/);
  assert.doesNotMatch(reason, /^\s+at [\w.$]+\(/m, 'no stack trace');
  const aborted = await s.call('POST', `/api/v1/operations/${op.id}/decision`, { action: 'abort' });
  assert.equal(aborted.status, 202, JSON.stringify(aborted.body));
  assert.equal((await s.waitFor(op.id, ['FAILED', 'SUCCEEDED', 'CANCELLED'])).status, 'FAILED');
  assert.doesNotMatch(tool('kafka-topics.sh', ['--bootstrap-server', bootstrap(), '--list']), /too-wide/);
});

/** Instances in the order the operation restarted them, with their stop, start and health steps. */
function restarts(steps: Step[]) {
  const byInstance = new Map<string, Step[]>();
  for (const x of steps.filter((x) => x.phase.includes('batch'))) {
    const key = `${x.role}@${x.host}`;
    byInstance.set(key, [...(byInstance.get(key) ?? []), x]);
  }
  return [...byInstance.entries()]
    .map(([key, xs]) => ({ key, steps: xs, at: (step: string) => xs.find((x) => x.step === step) }))
    .sort((a, b) => Date.parse(a.at('stop')!.startedAt) - Date.parse(b.at('stop')!.startedAt));
}

test('a rolling restart under acks=all writes loses no acknowledged message; each broker is healthy (caught up) before the next stops; the active controller goes last', async () => {
  const leader = activeController();
  const pids = Object.fromEntries(HOSTS.flatMap((h) => ['controller', 'broker'].map((r) => [`${r}@${h}`, pidOf(h, r)])));
  const producer = produce('orders');
  await eventually(async () => (producer.acked.size >= 200 ? true : undefined), 'the producer to get 200 acks', 60_000);

  const res = await s.call('POST', `${P}/actions`, { action: 'restart', rolling: { batchSize: 1 } });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const ackedBefore = producer.acked.size;
  const op = await s.waitFor(res.body.operation.id, FINAL, 1_200_000);
  const ackedDuringRoll = producer.acked.size - ackedBefore;
  await new Promise((r) => setTimeout(r, 3000));
  await producer.stop();
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  assert.ok(ackedDuringRoll > 0, 'the producer kept writing during the roll');

  const { missing, read } = await consumeAll('orders', producer.acked);
  assert.deepEqual(
    missing.slice(0, 20),
    [],
    `every acknowledged message is read back (${producer.acked.size} acked, ${read} read, ${missing.length} missing, ${producer.errors()} send errors)`,
  );

  const order = restarts(await stepsOf(op.id));
  assert.equal(order.length, 6, order.map((o) => o.key).join(' '));
  for (const o of order)
    assert.deepEqual(
      o.steps.map((x) => `${x.step}:${x.status}`),
      ['stop:SUCCEEDED', 'start:SUCCEEDED', 'health:SUCCEEDED'],
      o.key,
    );
  // The gate: the next instance stops only once the previous one passed its health check
  // (for a broker: registered, no offline and no under-replicated partition).
  for (let i = 1; i < order.length; i++) {
    assert.ok(
      Date.parse(order[i]!.at('stop')!.startedAt) >= Date.parse(order[i - 1]!.at('health')!.finishedAt),
      `${order[i]!.key} stopped after ${order[i - 1]!.key} was healthy`,
    );
  }
  const controllers = order.filter((o) => o.key.startsWith('controller@'));
  assert.equal(
    controllers.at(-1)!.key,
    `controller@${leader}`,
    `the active controller ${leader} restarts after the other controllers: ${order.map((o) => o.key)}`,
  );
  for (const [key, pid] of Object.entries(pids)) {
    const [role, h] = key.split('@') as [string, string];
    assert.ok(!alive(pid), `${key}: the old process ${pid} is gone`);
    assert.ok(alive(pidOf(h, role)), `${key} runs again`);
  }
  // Afterwards every replica of the topic is back in sync.
  const isr = [
    ...tool('kafka-topics.sh', ['--bootstrap-server', bootstrap(), '--describe', '--topic', 'orders']).matchAll(/\tIsr: ([\d,]+)/g),
  ];
  assert.deepEqual(
    isr.map((m) => m[1]!.split(',').length),
    [3, 3, 3],
  );
  // How often a broker's health gate saw under-replicated partitions and held the roll (for the report).
  const held = order.filter(
    (o) => o.key.startsWith('broker@') && /under-replicated partitions/.test(o.at('health')!.stderrTail ?? ''),
  ).length;
  process.stdout.write(
    `# rolling restart: ${producer.acked.size} acked, ${read} read, ${producer.errors()} send errors, ${held} of 3 broker gates held on under-replicated partitions, order ${order.map((o) => o.key).join(' ')}\n`,
  );
});

test(`a rolling upgrade ${OLD} → ${NEW} under acks=all writes loses no acknowledged message`, async () => {
  const topic = 'payments';
  const created = await s.call('POST', `${P}/tasks/create-topic`, {
    parameters: { topic, partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 },
  });
  assert.equal((await s.waitFor(created.body.operation.id, FINAL)).status, 'SUCCEEDED');
  const producer = produce(topic);
  await eventually(async () => (producer.acked.size >= 200 ? true : undefined), 'the producer to get 200 acks', 60_000);

  const res = await s.call('POST', `${P}/upgrade`, { version: NEW, batchSize: 1 });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL, 1_200_000);
  await new Promise((r) => setTimeout(r, 3000));
  await producer.stop();
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));

  const { missing, read } = await consumeAll(topic, producer.acked);
  assert.deepEqual(
    missing.slice(0, 20),
    [],
    `every acknowledged message is read back (${producer.acked.size} acked, ${read} read, ${missing.length} missing, ${producer.errors()} send errors)`,
  );
  const svc = (await s.call('GET', P)).body.service;
  assert.equal(svc.version, NEW);
  for (const i of svc.instances) assert.deepEqual([i.version, i.observedState], [NEW, 'RUNNING'], `${i.role}@${i.host}`);
  for (const h of HOSTS) assert.ok(existsSync(path.join(root(h), `kafka/current/libs/kafka_2.13-${NEW}.jar`)), `${h} runs ${NEW}`);
  // The metadata version stays at the old release's until an operator finalizes the upgrade.
  assert.match(
    tool('kafka-features.sh', ['--bootstrap-server', bootstrap(), 'describe']),
    /Feature: metadata\.version\s+SupportedMinVersion: \S+\s+SupportedMaxVersion: 4\.2-\S+\s+FinalizedVersionLevel: 4\.1-/,
  );
  process.stdout.write(`# rolling upgrade: ${producer.acked.size} acked, ${read} read, ${producer.errors()} send errors\n`);
});

test('remove stops every process and deletes the files', async () => {
  const pids = HOSTS.flatMap((h) => ['controller', 'broker'].map((r) => pidOf(h, r)));
  const res = await s.call('DELETE', P);
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const op = await s.waitFor(res.body.operation.id, FINAL, 600_000);
  assert.equal(op.status, 'SUCCEEDED', JSON.stringify(op));
  for (const pid of pids) assert.ok(!alive(pid), `${pid} is gone`);
  for (const h of HOSTS) assert.equal(existsSync(path.join(root(h), 'kafka')), false, `files gone on ${h}`);
});

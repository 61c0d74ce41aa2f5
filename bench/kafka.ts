/**
 * Kafka on a deployed cluster (3 fleet hosts, a KRaft controller and a broker on each), through
 * the whole stack (API → Temporal → worker → SSH, embedded Postgres and a Temporal dev server):
 *   npx tsx bench/kafka.ts [--records 200000] [--record-size 1000] [--base 127.0.111.1]
 * Package repository: SOPHON_TEST_PACKAGE_REPO (default .sophon/test-packages).
 * 1. Throughput with the package's own perf tools (ProducerPerformance and ConsumerPerformance
 *    of its tools jar) on a topic of 3 partitions, RF 3, min ISR 2: the producer with acks=all
 *    as fast as it can, then a consumer reading it all.
 * 2. A rolling restart of the brokers (batch 1) with the under-replicated gate, and the same
 *    restart with the gate dropped (parameter underReplicatedGate: false, so a broker counts as
 *    healthy once registered and unfenced), each while the package's verifiable producer writes
 *    200 records/s with acks=all and no retries: the roll's wall time, its health gates' time,
 *    and how many sends failed.
 * Every client runs on this machine beside the brokers, so the numbers are this machine's.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startStack, type Operation, type OperationStep } from './lib/stack.js';
import { positiveInt, printTable } from './lib/table.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    'record-size': { type: 'string', default: '1000' },
    base: { type: 'string', default: '127.0.111.1' },
  },
});
const records = positiveInt(values.records, '--records');
const recordSize = positiveInt(values['record-size'], '--record-size');
const packageRepo = path.resolve(process.env.SOPHON_TEST_PACKAGE_REPO ?? path.join('.sophon', 'test-packages'));
const VERSION = '4.2.0';
const tarball = path.join(packageRepo, `kafka-${VERSION}-noarch.tar.gz`);
if (!existsSync(tarball)) throw new Error(`no ${tarball}: run 'bash scripts/build-packages.sh --only kafka ${packageRepo}'`);

const tools = mkdtempSync(path.join(tmpdir(), 'kafka-bench-tools-'));
execFileSync('tar', ['-xzf', tarball, '-C', tools]);
const bin = (name: string) => path.join(tools, 'bin', name);
/** Runs one of the package's tools to its end; returns its stdout. */
const tool = (name: string, args: string[]) =>
  new Promise<string>((resolve, reject) => {
    const child = spawn(bin(name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${name} exited with ${code}: ${err}`))));
  });

console.log('starting Postgres, Temporal and 3 sshd hosts...');
const stack = await startStack({ hosts: 3, base: values.base, packageRepo });
const HOSTS = stack.fleet.hosts.map((h) => h.name);
const bootstrap = stack.fleet.hosts.map((h) => `${h.address}:9092`).join(',');
const service = '/api/v1/clusters/kafka/services';
const seconds = (op: Operation) => (Date.parse(op.finishedAt!) - Date.parse(op.createdAt)) / 1000;
const stepsOf = async (op: Operation) =>
  (await stack.call<{ operation: { steps: OperationStep[] } }>('GET', `/api/v1/operations/${op.id}`)).body.operation.steps;
const gateSeconds = (steps: OperationStep[]) =>
  steps.filter((x) => x.step === 'health').reduce((sum, x) => sum + (x.durationMs ?? 0), 0) / 1000;

/** The verifiable producer (acks=all, no retries) at 200 records/s until stopped; counts acks and failed sends. */
function produce(topic: string) {
  const child = spawn(
    bin('kafka-verifiable-producer.sh'),
    ['--bootstrap-server', bootstrap, '--topic', topic, '--max-messages', '-1', '--throughput', '200', '--acks', '-1'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const counts = { acked: 0, errors: 0 };
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.includes('"producer_send_success"')) counts.acked++;
    else if (line.includes('"producer_send_error"')) counts.errors++;
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    counts,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const throughput: string[][] = [];
const rolls: string[][] = [];
let failure: unknown;
try {
  await stack.bootstrap('kafka', 3);
  const deploy = await stack.runOperation('POST', service, {
    service: 'kafka',
    version: VERSION,
    placement: { controller: HOSTS, broker: HOSTS },
    config: { heapMb: 256, controllerHeapMb: 128, groupInitialRebalanceDelayMs: 0 },
  });
  console.log(`deployed in ${seconds(deploy).toFixed(0)} s`);
  for (const topic of ['perf', 'roll']) {
    await stack.runOperation('POST', `${service}/kafka/tasks/create-topic`, {
      parameters: { topic, partitions: 3, replicationFactor: 3, minInsyncReplicas: 2 },
    });
  }

  // "200000 records sent, 9523.8 records/sec (9.08 MB/sec), 1500.2 ms avg latency, 2100.0 ms max latency, 1400 ms 50th, 1900 ms 95th, 2000 ms 99th, 2100 ms 99.9th."
  const produced = (
    await tool('kafka-producer-perf-test.sh', [
      '--topic',
      'perf',
      '--num-records',
      String(records),
      '--record-size',
      String(recordSize),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${bootstrap}`,
      'acks=all',
    ])
  )
    .trim()
    .split('\n')
    .at(-1)!;
  const p = /records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency.* (\d+) ms 99th/.exec(produced);
  if (!p) throw new Error(`unexpected producer summary: ${produced}`);
  throughput.push(['produce (acks=all)', String(records), p[1]!, p[2]!, p[3]!, p[4]!]);

  // Header: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ...
  const consumed = (
    await tool('kafka-consumer-perf-test.sh', [
      '--bootstrap-server',
      bootstrap,
      '--topic',
      'perf',
      '--num-records',
      String(records),
      '--timeout',
      '120000',
      '--hide-header',
    ])
  )
    .trim()
    .split('\n')
    .at(-1)!
    .split(',')
    .map((x) => x.trim());
  if (consumed.length < 6) throw new Error(`unexpected consumer summary: ${consumed.join(',')}`);
  throughput.push(['consume', consumed[4]!, Number(consumed[5]).toFixed(1), Number(consumed[3]).toFixed(2), '-', '-']);

  for (const gate of [true, false]) {
    // The gate is on by default; dropping it only changes the health command (no restart).
    if (!gate) await stack.runOperation('PUT', `${service}/kafka/config`, { values: { underReplicatedGate: false }, note: 'bench' });
    const producer = produce('roll');
    await new Promise((r) => setTimeout(r, 10_000));
    const roll = await stack.runOperation('POST', `${service}/kafka/actions`, {
      action: 'restart',
      roles: ['broker'],
      rolling: { batchSize: 1, pauseSeconds: 0 },
    });
    await new Promise((r) => setTimeout(r, 10_000));
    await producer.stop();
    rolls.push([
      gate ? 'with the under-replicated gate' : 'without it',
      seconds(roll).toFixed(1),
      gateSeconds(await stepsOf(roll)).toFixed(1),
      String(producer.counts.acked),
      String(producer.counts.errors),
    ]);
    console.log(`  ${rolls.at(-1)!.join(', ')}`);
  }
} catch (err) {
  failure = err;
} finally {
  await stack.stop();
  rmSync(tools, { recursive: true, force: true });
}

printTable(
  `Kafka ${VERSION} throughput, 3 brokers on one machine, topic of 3 partitions RF 3 min ISR 2, ${recordSize}-byte records (package perf tools)`,
  ['client', 'records', 'records/s', 'MB/s', 'avg latency ms', 'p99 latency ms'],
  throughput,
);
printTable(
  'Rolling restart of 3 brokers (batch 1) while the verifiable producer writes 200 records/s (acks=all, no retries)',
  ['restart', 'wall s', 'health gates s', 'acked', 'send errors'],
  rolls,
);
if (failure) {
  console.error(failure);
  process.exitCode = 1;
}

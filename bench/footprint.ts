/**
 * What running Sophon costs, the TypeScript sources through tsx (`npx tsx src/cli/main.ts`,
 * as production ran before the build) next to the compiled build (`node bin/sophon.js`), in
 * the same run:
 *   npx tsx bench/footprint.ts [--requests 60000] [--concurrency 16] [--help-runs 10] [--settle 20]
 * - `sophon --help`: wall time from spawn to exit, the median of `help-runs` runs after one
 *   that is not counted (it also builds dist/ when it is older than the sources).
 * - `sophon start` (embedded Postgres and Temporal dev server, worker and API): time until it
 *   prints that it runs; then, `settle` seconds later, the idle RSS of Sophon's node processes
 *   (npx and tsx are node processes of their own; Postgres and Temporal are left out), the
 *   median of 5 samples a second apart; then the RSS after `requests` GET /api/v1/clusters
 *   (one cluster) with the admin token over `concurrency` keep-alive connections.
 * - `sophon worker` started against that stack on a task queue of its own, where a
 *   pollClusterWorkflow of the cluster waits: time from spawning the worker to that workflow's
 *   completion (its first workflow task and its three activities), and the worker's RSS then.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { descendants } from '../test/fleet/fleet.js';
import { embeddedSophonEnv } from '../test/helpers/sophon-process.js';
import { median, positiveInt, printTable } from './lib/table.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '60000' },
    concurrency: { type: 'string', default: '16' },
    'help-runs': { type: 'string', default: '10' },
    settle: { type: 'string', default: '20' },
  },
});
const requests = positiveInt(values.requests, '--requests');
const concurrency = positiveInt(values.concurrency, '--concurrency');
const helpRuns = positiveInt(values['help-runs'], '--help-runs');
const settleMs = positiveInt(values.settle, '--settle') * 1000;

interface Variant {
  name: string;
  command: string;
  args: string[];
}
const VARIANTS: Variant[] = [
  { name: 'tsx (before)', command: 'npx', args: ['tsx', 'src/cli/main.ts'] },
  { name: 'compiled (after)', command: process.execPath, args: ['bin/sophon.js'] },
];

const scratch = mkdtempSync(path.join(tmpdir(), 'sophon-bench-footprint-'));
// As root, embedded Postgres runs as the postgres user, which must reach its data directory.
chmodSync(scratch, 0o755);
const running: ChildProcess[] = [];
const stopGroup = (child: ChildProcess, signal: NodeJS.Signals) => {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // that group is gone already
  }
};

const mb = (kb: number) => (kb / 1024).toFixed(0);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0; // exited while we looked
  }
}

const isNode = (pid: number) => {
  try {
    return path.basename(readlinkSync(`/proc/${pid}/exe`)) === 'node';
  } catch {
    return false;
  }
};

/** RSS of the node processes in `root`'s tree (Sophon's, not Postgres' or Temporal's): their sum and the largest. */
function nodeRss(root: number): { sum: number; largest: number; processes: number } {
  const rss = [root, ...descendants(root)].filter(isNode).map(rssKb);
  return { sum: rss.reduce((a, b) => a + b, 0), largest: Math.max(...rss), processes: rss.length };
}

async function settledRss(root: number) {
  const samples = [];
  for (let i = 0; i < 5; i++) {
    samples.push(nodeRss(root));
    await sleep(1000);
  }
  return { sum: median(samples.map((s) => s.sum)), largest: median(samples.map((s) => s.largest)), processes: samples.at(-1)!.processes };
}

function launch(variant: Variant, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(variant.command, [...variant.args, ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

async function stop(run: ReturnType<typeof launch>) {
  stopGroup(run.child, 'SIGTERM');
  const timedOut = await Promise.race([run.exited.then(() => false), sleep(90_000).then(() => true)]);
  if (timedOut) stopGroup(run.child, 'SIGKILL');
}

async function timeHelp(variant: Variant): Promise<number> {
  const times = [];
  for (let i = 0; i <= helpRuns; i++) {
    const started = performance.now();
    const run = launch(variant, ['--help'], process.env);
    const code = await run.exited;
    if (code !== 0) throw new Error(`${variant.name}: sophon --help exited with ${code}:\n${run.output()}`);
    if (i > 0) times.push(performance.now() - started);
  }
  return median(times);
}

/** `total` GET requests over `connections` keep-alive connections; returns requests a second. */
async function load(url: string, token: string, total: number, connections: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let sent = 0;
  const get = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET ${url} answered ${res.statusCode}`))));
      });
      req.on('error', reject);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (sent < total) {
        sent++;
        await get();
      }
    }),
  );
  const perSecond = total / ((performance.now() - started) / 1000);
  agent.destroy();
  return perSecond;
}

interface Result {
  helpMs: number;
  startMs: number;
  idle: { sum: number; largest: number; processes: number };
  loaded: { sum: number; largest: number };
  perSecond: number;
  firstPollMs: number;
  workerRss: number;
}

async function measure(variant: Variant): Promise<Result> {
  console.log(`${variant.name}: sophon --help x ${helpRuns}...`);
  const helpMs = await timeHelp(variant);

  const home = path.join(scratch, variant.name.split(' ')[0]!);
  const env = await embeddedSophonEnv(home);
  console.log(`${variant.name}: sophon start...`);
  const startedAt = performance.now();
  const sophon = launch(variant, ['start'], env);
  while (!sophon.output().includes('Sophon is running')) {
    if (sophon.child.exitCode !== null)
      throw new Error(`${variant.name}: sophon start exited with ${sophon.child.exitCode}:\n${sophon.output()}`);
    await sleep(100);
  }
  const startMs = performance.now() - startedAt;
  const api = `http://127.0.0.1:${env.SOPHON_API_PORT}`;
  const token = readFileSync(path.join(home, 'admin-token'), 'utf8').trim();
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const created = await fetch(`${api}/api/v1/clusters`, { method: 'POST', headers, body: JSON.stringify({ name: 'footprint' }) });
  if (created.status !== 202) throw new Error(`POST /api/v1/clusters answered ${created.status}: ${await created.text()}`);
  const { cluster } = (await created.json()) as { cluster: { id: string } };

  await sleep(settleMs);
  const idle = await settledRss(sophon.child.pid!);
  console.log(`${variant.name}: ${requests} GET /api/v1/clusters over ${concurrency} connections...`);
  const perSecond = await load(`${api}/api/v1/clusters`, token, requests, concurrency);
  const loaded = nodeRss(sophon.child.pid!);

  // A worker of its own on a fresh task queue, with a poll of the cluster waiting for it.
  const taskQueue = `footprint-${randomUUID()}`;
  const address = `127.0.0.1:${env.TEMPORAL_PORT}`;
  const temporal = new Client({ connection: await Connection.connect({ address }) });
  const poll = await temporal.workflow.start('pollClusterWorkflow', {
    taskQueue,
    workflowId: `footprint-poll-${randomUUID()}`,
    args: [{ clusterId: cluster.id }],
  });
  const password = readFileSync(path.join(home, 'postgres', 'password'), 'utf8').trim();
  const workerEnv = {
    ...env,
    DATABASE_URL: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${env.SOPHON_POSTGRES_PORT}/sophon`,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_TASK_QUEUE: taskQueue,
  };
  console.log(`${variant.name}: sophon worker until its first poll...`);
  const spawnedAt = performance.now();
  const worker = launch(variant, ['worker'], workerEnv);
  await Promise.race([
    poll.result(),
    worker.exited.then((code) => {
      throw new Error(`${variant.name}: sophon worker exited with ${code}:\n${worker.output()}`);
    }),
  ]);
  const firstPollMs = performance.now() - spawnedAt;
  const workerRss = nodeRss(worker.child.pid!).sum;
  await temporal.connection.close();
  await stop(worker);
  await stop(sophon);
  return { helpMs, startMs, idle, loaded, perSecond, firstPollMs, workerRss };
}

try {
  const results: Result[] = [];
  for (const variant of VARIANTS) results.push(await measure(variant));
  const row = (label: string, cell: (r: Result) => string) => [label, ...results.map(cell)];
  printTable(
    'Sophon run from the TypeScript sources through tsx, and compiled',
    ['', ...VARIANTS.map((v) => v.name)],
    [
      row(`sophon --help, median of ${helpRuns} (ms)`, (r) => r.helpMs.toFixed(0)),
      row('sophon start until it runs (s)', (r) => seconds(r.startMs)),
      row('idle RSS, Sophon node processes (MB)', (r) => `${mb(r.idle.sum)} (${r.idle.processes} proc.)`),
      row('  of which the Sophon process (MB)', (r) => mb(r.idle.largest)),
      row(`RSS after ${requests} GET /api/v1/clusters (MB)`, (r) => mb(r.loaded.sum)),
      row('  requests a second', (r) => r.perSecond.toFixed(0)),
      row('sophon worker spawn → first poll done (s)', (r) => seconds(r.firstPollMs)),
      row('  worker RSS then (MB)', (r) => mb(r.workerRss)),
    ],
  );
} finally {
  running.filter((c) => c.exitCode === null && c.signalCode === null).forEach((c) => stopGroup(c, 'SIGKILL'));
  rmSync(scratch, { recursive: true, force: true });
}
// Something of the closed Temporal clients still holds the event loop after the table is out
// (seen: the bench sat idle for minutes); everything it started is stopped above, so end here.
process.exit(process.exitCode ?? 0);

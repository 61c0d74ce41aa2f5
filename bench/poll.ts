/**
 * One cluster poll over 1,000 Prometheus endpoints through the real pollCluster workflow (real
 * Temporal, Postgres and worker), next to a real Prometheus server (the package repository's
 * Debian build) scraping the same endpoints every 15 s in the same run:
 *   npx tsx bench/poll.ts [--targets 1000] [--polls 3] [--interval 15] [--base 127.0.200.1] [--profile]
 * The endpoints: a real node_exporter from the package repository is run once and its /metrics
 * captured; a separate process serves that payload on `targets` loopback addresses (base + 1
 * onwards). The inventory gets one host and one node-exporter instance per address, written
 * straight to Postgres (bootstrapping 1,000 hosts over SSH is not what is measured). The
 * definition's status command is left out of this run's copy of the catalog, so the poll does
 * what Prometheus does — scrape — and no SSH status checks (those need a real host each). The
 * definition's default alert rules are created as a deployment would, so the poll keeps the
 * series they read as rows, as it would in production.
 * After a warm-up poll (first rows of each series) and Prometheus's first scrapes, the polls
 * start `interval` seconds apart (or back to back when one takes longer) while Prometheus
 * runs; Prometheus's CPU and appended samples are read over the same window. `--profile` prints where the worker's CPU went in one poll.
 * Last, three reads of the metrics API are timed: it parses the stored scrapes they show.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import { rulesRepo } from '../src/features/alerts/rules-repo.js';
import { parseExposition } from '../src/features/monitoring/exposition.js';
import type { PollCounts } from '../src/features/monitoring/types.js';
import { processCpuSeconds } from './lib/cpu.js';
import { withCpuProfile } from './lib/cpu-profile.js';
import { startStack } from './lib/stack.js';
import { median, positiveInt, printTable } from './lib/table.js';
import { freePort } from '../test/helpers/ports.js';

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '1000' },
    polls: { type: 'string', default: '3' },
    interval: { type: 'string', default: '15' },
    base: { type: 'string', default: '127.0.200.1' },
    profile: { type: 'boolean', default: false },
  },
});
const targets = positiveInt(values.targets, '--targets');
const polls = positiveInt(values.polls, '--polls');
const intervalMs = positiveInt(values.interval, '--interval') * 1000;
const packageRepo = path.resolve(process.env.SOPHON_TEST_PACKAGE_REPO ?? path.join('.sophon', 'test-packages'));
const PORT = 19300;
const SERVICE_DEFS = path.resolve(import.meta.dirname, '../service-defs');

/** The address `n` places after `base` (127.a.b.c + n, carrying into the higher octets). */
const addressAfter = (base: string, n: number) => {
  const v = base.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) + n;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
};
const addresses = Array.from({ length: targets }, (_, i) => addressAfter(values.base, i + 1));

const scratch = mkdtempSync(path.join(tmpdir(), 'sophon-bench-poll-'));
const children: ChildProcess[] = [];
const unpack = (pkg: string) => {
  const dir = path.join(scratch, pkg);
  mkdirSync(dir);
  execFileSync('tar', ['-xzf', path.join(packageRepo, `${pkg}-x86_64.tar.gz`), '-C', dir]);
  return dir;
};
const start = (cmd: string, args: string[], log: string) => {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', openSync(path.join(scratch, log), 'a')] });
  children.push(child);
  return child;
};
const get = async (url: string, tries = 50): Promise<string> => {
  for (let i = 1; ; i++) {
    try {
      const res = await fetch(url);
      if (res.ok) return await res.text();
      if (i >= tries) throw new Error(`${url} answered ${res.status}`);
    } catch (err) {
      if (i >= tries) throw err;
    }
    await sleep(200);
  }
};

// A real node_exporter's payload, captured once.
const exporter = start(
  path.join(unpack('node-exporter-1.5.0'), 'bin/node_exporter'),
  [`--web.listen-address=${addressAfter(values.base, targets + 1)}:${PORT}`],
  'node-exporter.log',
);
const payload = await get(`http://${addressAfter(values.base, targets + 1)}:${PORT}/metrics`);
exporter.kill('SIGTERM');
const payloadFile = path.join(scratch, 'payload.txt');
writeFileSync(payloadFile, payload);
const payloadSamples = payload.split('\n').filter((l) => l && !l.startsWith('#')).length;
console.log(`captured node_exporter 1.5.0's /metrics: ${payload.length} bytes, ${payloadSamples} samples`);

const server = start(
  process.execPath,
  ['--import', 'tsx', path.resolve(import.meta.dirname, 'lib/serve-metrics.ts'), payloadFile, String(PORT), addresses.join(',')],
  'serve.log',
);
await new Promise<void>((resolve, reject) => {
  server.stdout!.once('data', () => resolve());
  server.once('exit', (code) => reject(new Error(`the endpoint server exited with ${code}: see ${scratch}/serve.log`)));
});
console.log(`serving it on ${targets} endpoints, ${addresses[0]}–${addresses.at(-1)}:${PORT}`);

// This run's catalog: node-exporter without its status command (no SSH status checks).
const defs = path.join(scratch, 'service-defs');
cpSync(SERVICE_DEFS, defs, { recursive: true });
const defFile = path.join(defs, 'node-exporter/service.yaml');
const def = YAML.parse(readFileSync(defFile, 'utf8')) as { roles: Array<{ status?: unknown }> };
for (const role of def.roles) delete role.status;
writeFileSync(defFile, YAML.stringify(def));

console.log('starting Postgres, Temporal and the worker...');
const stack = await startStack({ hosts: 1, base: values.base, env: { SOPHON_SERVICE_DEFS: defs } });
const { pool, temporal, config, catalog } = stack.core;

interface PollRun {
  ms: number;
  worker: number;
  temporal: number;
  postgres: number;
  counts: PollCounts;
  /** Rows the poll wrote: whole scrapes, latest rows of the series rules read, their history. */
  rows: { scrapes: number; latest: number; history: number };
  historyEvents: number;
}
const runs: PollRun[] = [];
let failure: unknown;
try {
  // The inventory: one host and one exporter instance per endpoint.
  await stack.runOperation('POST', '/api/v1/clusters', { name: 'poll' });
  const clusterId = (await pool.query<{ id: string }>(`SELECT id FROM clusters WHERE name = 'poll'`)).rows[0]!.id;
  const credentialId = (await pool.query<{ id: string }>(`SELECT id FROM credentials WHERE name = $1`, [stack.credential])).rows[0]!.id;
  const hostIds = addresses.map(() => randomUUID());
  await pool.query(
    `INSERT INTO hosts (id, cluster_id, hostname, address, port, credential_id, install_root, status)
     SELECT id, $1, 'p' || lpad(n::text, 4, '0'), address, 22, $2, '/opt/sophon', 'READY'
     FROM unnest($3::uuid[], $4::text[]) WITH ORDINALITY AS u(id, address, n)`,
    [clusterId, credentialId, hostIds, addresses],
  );
  const serviceId = randomUUID();
  await pool.query(
    `INSERT INTO services (id, cluster_id, name, version, target_version, status) VALUES ($1, $2, 'node-exporter', '1.5.0', '1.5.0', 'ACTIVE')`,
    [serviceId, clusterId],
  );
  await pool.query(`INSERT INTO config_versions (service_id, version, "values", author) VALUES ($1, 1, $2, 'bench')`, [
    serviceId,
    JSON.stringify({ port: PORT }),
  ]);
  await pool.query(
    `INSERT INTO role_instances (id, cluster_id, service, role, host_id, service_id, idx, version, config_version, ports, observed_state)
     SELECT gen_random_uuid(), $1, 'node-exporter', 'exporter', host_id, $2, n - 1, '1.5.0', 1, $3, 'RUNNING'
     FROM unnest($4::uuid[]) WITH ORDINALITY AS u(host_id, n)`,
    [clusterId, serviceId, JSON.stringify({ metrics: PORT }), hostIds],
  );

  await rulesRepo(pool).ensureDefinitionRules(clusterId, 'node-exporter', catalog.get('node-exporter').alerts);

  // Rows written by a poll: the rows whose `at` is the poll's (every row a poll writes carries
  // the time of its target's scrape, so rows written before it are older).
  const rowsSince = async (since: Date) =>
    (
      await pool.query<{ scrapes: number; latest: number; history: number }>(
        `SELECT (SELECT count(*) FROM metric_scrapes WHERE cluster_id = $1 AND at >= $2)::int AS scrapes,
                (SELECT count(*) FROM metric_latest WHERE cluster_id = $1 AND at >= $2)::int AS latest,
                (SELECT count(*) FROM metric_samples WHERE cluster_id = $1 AND at >= $2)::int AS history`,
        [clusterId, since],
      )
    ).rows[0]!;
  let pollNumber = 0;
  const poll = async (): Promise<PollRun> => {
    const since = new Date();
    const used = stack.meter();
    const handle = await temporal.workflow.start('pollClusterWorkflow', {
      taskQueue: config.temporal.taskQueue,
      workflowId: `bench-poll-${++pollNumber}`,
      args: [{ clusterId }],
    });
    const counts = (await handle.result()) as PollCounts;
    const { ms, cpuParts } = used();
    const history = await handle.fetchHistory();
    return { ms, ...cpuParts!, counts, rows: await rowsSince(since), historyEvents: history.events?.length ?? 0 };
  };

  // Prometheus on the same endpoints, started next to the warm-up poll.
  const promDir = unpack('prometheus-2.42.0');
  const promPort = await freePort();
  writeFileSync(
    path.join(promDir, 'prometheus.yml'),
    YAML.stringify({
      global: { scrape_interval: `${intervalMs / 1000}s`, scrape_timeout: `${Math.min(10, intervalMs / 1000)}s` },
      scrape_configs: [{ job_name: 'node', static_configs: [{ targets: addresses.map((a) => `${a}:${PORT}`) }] }],
    }),
  );
  const prometheus = start(
    path.join(promDir, 'bin/prometheus'),
    [
      `--config.file=${path.join(promDir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(promDir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ],
    'prometheus.log',
  );
  const promApi = `http://127.0.0.1:${promPort}`;
  await get(`${promApi}/-/ready`, 150);
  const query = async (q: string) => {
    const body = JSON.parse(await get(`${promApi}/api/v1/query?query=${encodeURIComponent(q)}`)) as {
      data: { result: Array<{ value: [number, string] }> };
    };
    return Number(body.data.result[0]?.value[1] ?? NaN);
  };
  const promVersion = execFileSync(path.join(promDir, 'bin/prometheus'), ['--version'], { encoding: 'utf8' }).split('\n')[0];

  const warm = await poll();
  console.log(
    `warm-up poll: ${(warm.ms / 1000).toFixed(1)} s, ${warm.counts.scrapes} scrapes (${warm.counts.scrapeFailures} failed), ${warm.counts.samples} samples`,
  );
  // Prometheus has scraped every target (its first scrape creates the series) and once more after.
  const warmedAt = Date.now();
  while ((await query('count(up == 1)')) !== targets || Date.now() - warmedAt < 2 * intervalMs) await sleep(1000);
  console.log(`${promVersion}: all ${targets} targets up`);

  // Prometheus's own counter, from its /metrics (it does not scrape itself here).
  const appended = async () =>
    parseExposition(await get(`${promApi}/metrics`))
      .filter((s) => s.metric === 'prometheus_tsdb_head_samples_appended_total')
      .reduce((sum, s) => sum + s.value, 0);
  const t0 = performance.now();
  const prom0 = { cpu: processCpuSeconds(prometheus.pid!), samples: await appended() };
  const doPolls = async () => {
    for (let k = 0; k < polls; k++) {
      const wait = t0 + k * intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      const run = await poll();
      runs.push(run);
      console.log(
        `poll ${k + 1}: ${(run.ms / 1000).toFixed(1)} s; CPU-s worker ${run.worker.toFixed(2)}, Temporal ${run.temporal.toFixed(2)}, Postgres ${run.postgres.toFixed(2)}; ` +
          `${run.counts.scrapes} scrapes (${run.counts.scrapeFailures} failed), ${run.counts.samples} samples; rows: ${run.rows.scrapes} scrapes, ${run.rows.latest} latest, ${run.rows.history} history; ${run.historyEvents} history events`,
      );
    }
  };
  if (values.profile) await withCpuProfile('Worker CPU during the measured polls', doPolls);
  else await doPolls();
  const rest = t0 + polls * intervalMs - performance.now();
  if (rest > 0) await sleep(rest);
  const windowS = (performance.now() - t0) / 1000;
  // The counter is read at query time; Prometheus's CPU right after it.
  const promSamples = (await appended()) - prom0.samples;
  const promCpu = processCpuSeconds(prometheus.pid!) - prom0.cpu;

  const med = (f: (r: PollRun) => number) => median(runs.map(f));
  const samplesPerPoll = med((r) => r.counts.samples + r.counts.up + r.counts.down);
  const intervals = windowS / (intervalMs / 1000);
  const pct = (cpu: number) => `${((100 * cpu) / (intervalMs / 1000)).toFixed(0)}%`;
  const perSampleUs = (cpu: number, samples: number) => ((cpu / samples) * 1e6).toFixed(1);
  const workerAll = (r: PollRun) => r.worker + r.temporal + r.postgres;
  printTable(
    `One poll of ${targets} node_exporter endpoints (${payloadSamples} samples each) through pollClusterWorkflow; ${polls} polls ${intervalMs / 1000} s apart, Prometheus scraping the same endpoints meanwhile`,
    [
      'poll',
      'wall s',
      'worker CPU-s',
      'Temporal',
      'Postgres',
      'scrapes',
      'failed',
      'samples',
      'scrape rows',
      'latest rows',
      'history rows',
      'history events',
    ],
    runs.map((r, i) => [
      String(i + 1),
      (r.ms / 1000).toFixed(1),
      r.worker.toFixed(2),
      r.temporal.toFixed(2),
      r.postgres.toFixed(2),
      String(r.counts.scrapes),
      String(r.counts.scrapeFailures),
      String(r.counts.samples),
      String(r.rows.scrapes),
      String(r.rows.latest),
      String(r.rows.history),
      String(r.historyEvents),
    ]),
  );
  const sophonWorker = med((r) => r.worker);
  const sophonAll = med(workerAll);
  const promPerInterval = promCpu / intervals;
  printTable(
    `Per ${intervalMs / 1000} s interval, medians; target: a poll inside the interval on under 20% of one core, CPU per sample within 2× of Prometheus's (measured over ${windowS.toFixed(0)} s)`,
    ['', 'wall s', 'CPU-s', '% of one core', 'samples', 'CPU µs/sample', '/Prometheus'],
    [
      [
        'Sophon worker',
        (med((r) => r.ms) / 1000).toFixed(1),
        sophonWorker.toFixed(2),
        pct(sophonWorker),
        String(samplesPerPoll),
        perSampleUs(sophonWorker, samplesPerPoll),
        (sophonWorker / samplesPerPoll / (promCpu / promSamples)).toFixed(1),
      ],
      [
        'Sophon worker + Temporal + Postgres',
        '',
        sophonAll.toFixed(2),
        pct(sophonAll),
        String(samplesPerPoll),
        perSampleUs(sophonAll, samplesPerPoll),
        (sophonAll / samplesPerPoll / (promCpu / promSamples)).toFixed(1),
      ],
      [
        promVersion ?? 'Prometheus',
        '',
        promPerInterval.toFixed(2),
        pct(promPerInterval),
        (promSamples / intervals).toFixed(0),
        perSampleUs(promCpu, promSamples),
        '1.0',
      ],
    ],
  );

  // What the API pays for parsing stored scrapes when asked (the API runs in this process).
  const reads: string[][] = [];
  for (const [what, query] of [
    ['node_load1 of every target', 'metric=node_load1&limit=1000'],
    ['every series, first page', 'limit=1000'],
    ['every series of one host', `host=p${String(Math.ceil(targets / 2)).padStart(4, '0')}&limit=1000`],
  ] as const) {
    const times: number[] = [];
    let answered = 0;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const res = await stack.call<{ samples: unknown[] }>('GET', `/api/v1/clusters/poll/metrics?${query}`);
      times.push(performance.now() - t);
      answered = res.body.samples.length;
    }
    reads.push([what, query, String(answered), median(times).toFixed(0)]);
  }
  printTable('Reads of the metrics API after the polls (median of 3)', ['', 'query', 'samples', 'ms'], reads);
} catch (err) {
  failure = err;
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  await stack.stop();
  rmSync(scratch, { recursive: true, force: true });
}
if (failure !== undefined) {
  console.error('\nstopped early:', failure);
  process.exitCode = 1;
}

/**
 * How long a scrape of /metrics takes as Sophon's tables grow: its state families are computed
 * from Postgres at each scrape (operations with their duration histogram, hosts, instances,
 * alerts, notifications, polls). Embedded Postgres, rows inserted directly, the registry the
 * API serves, timed per scrape; printed beside the 10 s scrape timeout of
 * deploy/prometheus/prometheus.yml.
 *
 *   npx tsx bench/metrics-scrape.ts [--operations 1000,10000,100000] [--scrapes 5]
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createMetrics } from '../src/platform/http/metrics.js';
import { migrate } from '../src/platform/db/migrate.js';
import { createPool } from '../src/platform/db/pool.js';
import { startEmbeddedPostgres } from '../src/dev/embedded-postgres.js';
import { createLogger } from '../src/platform/log.js';
import { freePort } from '../test/helpers/ports.js';
import { median, positiveInt, printTable } from './lib/table.js';

const { values: args } = parseArgs({
  options: { operations: { type: 'string', default: '1000,10000,100000' }, scrapes: { type: 'string', default: '5' } },
});
const sizes = args.operations.split(',').map((n) => positiveInt(n, '--operations'));
const scrapes = positiveInt(args.scrapes, '--scrapes');
const SCRAPE_TIMEOUT_MS = 10_000;

const logger = createLogger('warn');
const scratch = await mkdtemp(path.join(tmpdir(), 'sophon-bench-metrics-'));
// The postgres user (when run as root) must reach the data directory through it.
await chmod(scratch, 0o755);
const postgres = await startEmbeddedPostgres(path.join(scratch, 'postgres'), await freePort(), logger);
const pool = createPool(postgres.url);
try {
  await migrate(postgres.url, logger);
  const metrics = createMetrics({ pool, timeoutMs: 60_000 });
  // One cluster: what grows here is the history tables (operations, alerts, notifications);
  // the host and instance families follow the inventory, which this bench leaves empty.
  await pool.query(`INSERT INTO clusters (id, name, status) VALUES (gen_random_uuid(), 'bench', 'ACTIVE')`);
  const rows: string[][] = [];
  let have = 0;
  for (const size of sizes) {
    // Operations of six types, finished ones with durations of up to an hour; alerts and notifications alongside.
    await pool.query(
      `INSERT INTO operations (id, type, status, cluster_name, service, workflow_id, workflow_type, requested_by, created_at, started_at, finished_at)
       SELECT gen_random_uuid(), (ARRAY['service.deploy','service.restart','service.recover','service.upgrade','hosts.bootstrap','service.reconfigure'])[1 + g % 6],
         (ARRAY['SUCCEEDED','SUCCEEDED','SUCCEEDED','FAILED','CANCELLED'])[1 + g % 5], 'bench', 'zookeeper', 'bench/' || g, 'x', 'bench',
         now() - make_interval(secs => g), now() - make_interval(secs => g), now() - make_interval(secs => g) + make_interval(secs => (g * 7919) % 3600)
       FROM generate_series($1::int + 1, $2::int) g`,
      [have, size],
    );
    await pool.query(
      `INSERT INTO alerts (id, rule_name, fingerprint, state, severity, labels)
       SELECT gen_random_uuid(), 'r', 'bench-' || g, (ARRAY['firing','acknowledged','resolved','resolved'])[1 + g % 4], (ARRAY['info','warning','critical'])[1 + g % 3], '{}'
       FROM generate_series($1::int / 10 + 1, $2::int / 10) g`,
      [have, size],
    );
    await pool.query(
      `INSERT INTO alert_notifications (channel_name, channel_type, kind, status)
       SELECT 'c', (ARRAY['webhook','slack','email'])[1 + g % 3], 'firing', (ARRAY['sent','sent','failed'])[1 + g % 3] FROM generate_series($1::int + 1, $2::int) g`,
      [have, size],
    );
    have = size;
    await pool.query('ANALYZE');
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < scrapes; i++) {
      const t0 = performance.now();
      bytes = (await metrics.registry.metrics()).length;
      times.push(performance.now() - t0);
    }
    rows.push([
      String(size),
      String(size / 10),
      String(size),
      median(times).toFixed(1),
      Math.max(...times).toFixed(1),
      String(SCRAPE_TIMEOUT_MS),
      String(bytes),
    ]);
  }
  printTable(
    `GET /metrics, whole registry (process metrics + state from Postgres), ${scrapes} scrapes per size`,
    ['operations', 'alerts', 'notifications', 'median ms', 'max ms', 'scrape timeout ms', 'bytes'],
    rows,
  );
} finally {
  await pool.end();
  await postgres.stop();
  await rm(scratch, { recursive: true, force: true });
}

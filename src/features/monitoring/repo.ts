/**
 * Series kept as rows in Postgres: those alert rules read and Sophon's own (`up`, the recovery
 * budget), the latest of each and a pruned recent history. Whole scrapes are in scrapes-repo.
 */
import type { Pool, PoolClient } from '../../platform/db/pool.js';
import { BUDGET_SPENT_METRIC } from '../recovery/repo.js';

type Db = Pool | PoolClient;

/** Series Sophon makes itself, always kept as rows: a scraped series of these names is dropped. */
export const OWN_SERIES = ['up', BUDGET_SPENT_METRIC];

/** A role instance whose series a poll refreshed at `at`: older rows of it are stale. */
export interface ScrapedTarget {
  host: string;
  service: string;
  role: string;
  at: Date;
}

/**
 * Samples to write, column by column: a poll writes hundreds of thousands, and columns cost
 * neither an object per sample nor a copy of its target's fields per row.
 */
export interface SampleBatch {
  /** The targets the samples came from, each with the time of its scrape. */
  targets: ScrapedTarget[];
  /** Per sample: its target (an index into `targets`), metric, labels as JSON text and value. */
  target: number[];
  metric: string[];
  labels: string[];
  value: number[];
}

export const emptyBatch = (): SampleBatch => ({ targets: [], target: [], metric: [], labels: [], value: [] });

/** Labels as JSON with their keys in order, so that one series always has one text. */
export function labelsJson(labels: Record<string, string>): string {
  const keys = Object.keys(labels);
  if (keys.length > 1) keys.sort();
  return JSON.stringify(labels, keys);
}

/** A host's role instances by their latest `up`, when a poll last saw them, and its alerts firing or acknowledged. */
export interface HostHealth {
  up: number;
  down: number;
  lastScrapeAt: Date | null;
  openAlerts: number;
}

/** Rows per statement: arrays, so one bind parameter per column whatever the count. */
const WRITE_BATCH = 5000;

export function metricsRepo(db: Db) {
  return {
    /**
     * Upserts the latest value of each series and appends to the history, a batch per
     * statement. A series may appear once per batch (the upsert could not choose otherwise).
     */
    async write(clusterId: string, samples: SampleBatch): Promise<void> {
      const { targets } = samples;
      const targetColumns = [
        targets.map((t) => t.host),
        targets.map((t) => t.service),
        targets.map((t) => t.role),
        targets.map((t) => t.at.toISOString()),
      ];
      for (let i = 0; i < samples.metric.length; i += WRITE_BATCH) {
        const end = i + WRITE_BATCH;
        await db.query(
          `WITH target AS (
             SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[]) WITH ORDINALITY AS t(host, service, role, at, n)
           ), input AS (
             SELECT t.host, t.service, t.role, s.metric, s.labels, s.value, t.at
             FROM unnest($6::int[], $7::text[], $8::jsonb[], $9::float8[]) AS s(target, metric, labels, value) JOIN target t ON t.n = s.target + 1
           ), history AS (
             INSERT INTO metric_samples (cluster_id, host, service, role, metric, labels, value, at)
             SELECT $1, host, service, role, metric, labels, value, at FROM input
           )
           INSERT INTO metric_latest (cluster_id, host, service, role, metric, labels, value, at)
           SELECT $1, host, service, role, metric, labels, value, at FROM input
           ON CONFLICT (cluster_id, metric, host, service, role, labels) DO UPDATE SET value = EXCLUDED.value, at = EXCLUDED.at`,
          [
            clusterId,
            ...targetColumns,
            samples.target.slice(i, end),
            samples.metric.slice(i, end),
            samples.labels.slice(i, end),
            samples.value.slice(i, end),
          ],
        );
      }
    },

    /**
     * Drops the latest rows of each target that its scrape at `at` no longer returned, and its
     * stored scrape when that scrape failed. The recovery budget series is not scraped:
     * auto-recovery sets and drops it after the checks.
     */
    async dropStale(clusterId: string, targets: ScrapedTarget[]): Promise<void> {
      if (targets.length === 0) return;
      const scraped = [
        clusterId,
        targets.map((t) => t.host),
        targets.map((t) => t.service),
        targets.map((t) => t.role),
        targets.map((t) => t.at),
      ];
      const stale = `unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS t(host, service, role, at)
         WHERE m.cluster_id = $1 AND m.host = t.host AND m.service = t.service AND m.role = t.role AND m.at < t.at`;
      await db.query(`DELETE FROM metric_latest m USING ${stale} AND m.metric <> '${BUDGET_SPENT_METRIC}'`, scraped);
      // A stored scrape older than its target's poll: that scrape failed (or the target has none now).
      await db.query(`DELETE FROM metric_scrapes m USING ${stale}`, scraped);
    },

    /** Forgets history older than `seconds`, and every row of targets that are no longer role instances of the cluster. */
    async prune(clusterId: string, seconds: number): Promise<void> {
      await db.query(`DELETE FROM metric_samples WHERE cluster_id = $1 AND at < now() - make_interval(secs => $2)`, [clusterId, seconds]);
      const gone = `NOT EXISTS (SELECT 1 FROM role_instances i JOIN hosts h ON h.id = i.host_id
                                WHERE i.cluster_id = m.cluster_id AND h.hostname = m.host AND i.service = m.service AND i.role = m.role)`;
      await db.query(`DELETE FROM metric_latest m WHERE m.cluster_id = $1 AND ${gone}`, [clusterId]);
      await db.query(`DELETE FROM metric_scrapes m WHERE m.cluster_id = $1 AND ${gone}`, [clusterId]);
    },

    /** Per host of the cluster: instances up and down by their latest `up`, the last poll that saw it, and its open alerts. */
    async hostHealth(clusterId: string, hostnames: string[]): Promise<Map<string, HostHealth>> {
      const rows = (
        await db.query<HostHealth & { host: string }>(
          `SELECT h.host, coalesce(m.up, 0) AS up, coalesce(m.down, 0) AS down, m."lastScrapeAt", coalesce(a.n, 0) AS "openAlerts"
           FROM unnest($2::text[]) AS h(host)
           LEFT JOIN (SELECT host, count(*) FILTER (WHERE value = 1)::int AS up, count(*) FILTER (WHERE value <> 1)::int AS down, max(at) AS "lastScrapeAt"
                      FROM metric_latest WHERE cluster_id = $1 AND metric = 'up' AND host = ANY($2::text[]) GROUP BY host) m ON m.host = h.host
           LEFT JOIN (SELECT host, count(*)::int AS n FROM alerts
                      WHERE cluster_id = $1 AND state IN ('firing', 'acknowledged') AND host = ANY($2::text[]) GROUP BY host) a ON a.host = h.host`,
          [clusterId, hostnames],
        )
      ).rows;
      return new Map(rows.map((r) => [r.host, { up: r.up, down: r.down, lastScrapeAt: r.lastScrapeAt, openAlerts: r.openAlerts }]));
    },
  };
}

/** Scraped samples in Postgres: the latest of each series and a pruned recent history. */
import type { Pool, PoolClient } from '../db/pool.js';

type Db = Pool | PoolClient;

export interface SeriesSample {
  host: string;
  service: string;
  role: string;
  metric: string;
  labels: Record<string, string>;
  value: number;
  at: Date;
}

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

export interface SampleFilter {
  host?: string | undefined;
  service?: string | undefined;
  metric?: string | undefined;
}

/** A host's role instances by their latest `up`, when a poll last saw them, and its alerts firing or acknowledged. */
export interface HostHealth {
  up: number;
  down: number;
  lastScrapeAt: Date | null;
  openAlerts: number;
}

/** The sort key of the samples list (and of its cursor). */
export type SampleKey = [metric: string, host: string, service: string, role: string, labels: Record<string, string>];

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
      const targetColumns = [targets.map((t) => t.host), targets.map((t) => t.service), targets.map((t) => t.role), targets.map((t) => t.at.toISOString())];
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
          [clusterId, ...targetColumns, samples.target.slice(i, end), samples.metric.slice(i, end), samples.labels.slice(i, end), samples.value.slice(i, end)],
        );
      }
    },

    /** Drops the latest rows of each target that its scrape at `at` no longer returned. */
    async dropStale(clusterId: string, targets: ScrapedTarget[]): Promise<void> {
      if (targets.length === 0) return;
      await db.query(
        `DELETE FROM metric_latest m USING unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[]) AS t(host, service, role, at)
         WHERE m.cluster_id = $1 AND m.host = t.host AND m.service = t.service AND m.role = t.role AND m.at < t.at`,
        [clusterId, targets.map((t) => t.host), targets.map((t) => t.service), targets.map((t) => t.role), targets.map((t) => t.at)],
      );
    },

    /** Forgets history older than `minutes`. */
    async prune(clusterId: string, minutes: number): Promise<number> {
      const res = await db.query(`DELETE FROM metric_samples WHERE cluster_id = $1 AND at < now() - make_interval(mins => $2)`, [clusterId, minutes]);
      return res.rowCount ?? 0;
    },

    /** Latest samples, filtered, in (metric, host, service, role, labels) order after `after`; fetches `limit + 1` rows. */
    async latest(clusterId: string, filter: SampleFilter, page: { limit: number; after?: SampleKey | undefined }): Promise<SeriesSample[]> {
      const after = page.after;
      return (
        await db.query<SeriesSample>(
          `SELECT host, service, role, metric, labels, value, at FROM metric_latest
           WHERE cluster_id = $1 AND ($2::text IS NULL OR host = $2) AND ($3::text IS NULL OR service = $3) AND ($4::text IS NULL OR metric = $4)
             AND ($5::text IS NULL OR (metric, host, service, role, labels) > ($5, $6, $7, $8, $9::jsonb))
           ORDER BY metric, host, service, role, labels LIMIT $10`,
          [
            clusterId,
            filter.host ?? null,
            filter.service ?? null,
            filter.metric ?? null,
            after?.[0] ?? null,
            after?.[1] ?? null,
            after?.[2] ?? null,
            after?.[3] ?? null,
            after ? JSON.stringify(after[4]) : null,
            page.limit + 1,
          ],
        )
      ).rows;
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

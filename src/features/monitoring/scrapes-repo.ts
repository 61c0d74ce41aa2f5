/**
 * The latest scrape of each target, kept whole (table metric_scrapes): one row per target and
 * poll, where a row per series would cost Postgres more than the scrape itself.
 */
import type { Pool, PoolClient } from '../../platform/db/pool.js';
import { OWN_SERIES } from './repo.js';

type Db = Pool | PoolClient;

export interface TargetKey {
  host: string;
  service: string;
  role: string;
}

export interface Scrape extends TargetKey {
  at: Date;
  body: string;
}

/** A target of a page: its latest scrape (when one succeeded) and its own series' rows. */
export interface TargetSamples extends TargetKey {
  body: string | null;
  at: Date | null;
  own: Array<{ metric: string; labels: Record<string, string>; value: number | string; at: string }>;
}

export interface TargetFilter {
  host?: string | undefined;
  service?: string | undefined;
  metric?: string | undefined;
}

/** Text per statement (and what a poll buffers before it writes): a larger scrape goes alone. */
export const SAVE_BYTES = 8 * 1024 * 1024;

export function scrapesRepo(db: Db) {
  return {
    /** Keeps each target's latest scrape. Plain parameters, not arrays: array literals would escape every quote of the text. */
    async save(clusterId: string, scrapes: Scrape[]): Promise<void> {
      for (let i = 0; i < scrapes.length;) {
        const batch: Scrape[] = [];
        for (let bytes = 0; i < scrapes.length && (batch.length === 0 || bytes + scrapes[i]!.body.length <= SAVE_BYTES); i++) {
          batch.push(scrapes[i]!);
          bytes += scrapes[i]!.body.length;
        }
        const params: unknown[] = [clusterId];
        const rows = batch.map((s) => {
          params.push(s.host, s.service, s.role, s.body, s.at);
          const n = params.length;
          return `($1, $${n - 4}, $${n - 3}, $${n - 2}, $${n - 1}, $${n}::timestamptz)`;
        });
        await db.query(
          `INSERT INTO metric_scrapes (cluster_id, host, service, role, body, at) VALUES ${rows.join(', ')}
           ON CONFLICT (cluster_id, host, service, role) DO UPDATE SET body = EXCLUDED.body, at = EXCLUDED.at`,
          params,
        );
      }
    },

    /**
     * Targets in (host, service, role) order after `from` (or from it on), with their scrape and
     * own series, filtered. A metric filter skips scrapes that cannot hold it (a substring test;
     * the caller matches exactly) and, for one of Sophon's own series, every scrape.
     */
    async page(
      clusterId: string,
      filter: TargetFilter,
      from: { target: TargetKey; inclusive: boolean } | undefined,
      limit: number,
    ): Promise<TargetSamples[]> {
      const metric = filter.metric ?? null;
      const ownOnly = metric !== null && OWN_SERIES.includes(metric);
      // Each side is cut to the page in its own (host, service, role) order before the union,
      // so neither reads further than the page.
      const page = `($5::text IS NULL OR host = $5) AND ($6::text IS NULL OR service = $6)
        AND ($7::text IS NULL OR (host, service, role) > ($7::text, $8::text, $9::text) OR ($11 AND (host, service, role) = ($7::text, $8::text, $9::text)))`;
      return (
        await db.query<TargetSamples>(
          `WITH targets AS (
             (SELECT host, service, role FROM metric_scrapes
              WHERE cluster_id = $1 AND NOT $3 AND ($2::text IS NULL OR strpos(body, $2) > 0) AND ${page}
              ORDER BY host, service, role LIMIT $10)
             UNION
             (SELECT DISTINCT host, service, role FROM metric_latest
              WHERE cluster_id = $1 AND metric = ANY($4::text[]) AND ($2::text IS NULL OR metric = $2) AND ${page}
              ORDER BY host, service, role LIMIT $10)
             ORDER BY host, service, role LIMIT $10
           )
           SELECT t.host, t.service, t.role, CASE WHEN $3 THEN NULL ELSE s.body END AS body, s.at,
             coalesce((SELECT json_agg(json_build_object('metric', l.metric, 'labels', l.labels, 'value', l.value, 'at', l.at))
                       FROM metric_latest l
                       WHERE l.cluster_id = $1 AND l.host = t.host AND l.service = t.service AND l.role = t.role
                         AND l.metric = ANY($4::text[]) AND ($2::text IS NULL OR l.metric = $2)), '[]') AS own
           FROM targets t LEFT JOIN metric_scrapes s ON s.cluster_id = $1 AND s.host = t.host AND s.service = t.service AND s.role = t.role
           ORDER BY t.host, t.service, t.role`,
          [
            clusterId,
            metric,
            ownOnly,
            OWN_SERIES,
            filter.host ?? null,
            filter.service ?? null,
            from?.target.host ?? null,
            from?.target.service ?? null,
            from?.target.role ?? null,
            limit,
            from?.inclusive ?? false,
          ],
        )
      ).rows;
    },
  };
}

/** Monitoring behind the routes: a cluster's latest samples, paged by host, service, role, metric and labels. */
import { z } from 'zod';
import type { Pool } from '../../platform/db/pool.js';
import { decodeCursor, pageOf } from '../../platform/http/paging.js';
import { findCluster } from '../clusters/repo.js';
import { latestSamples, type SampleKey, type SeriesSample } from './samples.js';

/** The sort key of the list: host, service, role, metric, labels (after a version, so a cursor of another order is refused). */
const SampleCursor = z.tuple([z.literal(2), z.string(), z.string(), z.string(), z.string(), z.record(z.string(), z.string())]);

/** JSON has no NaN or infinities: those travel as Prometheus writes them. */
const valueOf = (v: number) => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');

const view = (s: SeriesSample) => ({
  metric: s.metric,
  labels: s.labels,
  value: valueOf(s.value),
  host: s.host,
  service: s.service,
  role: s.role,
  at: s.at,
});

export interface MetricsFilter {
  host?: string | undefined;
  service?: string | undefined;
  metric?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export type MonitoringService = ReturnType<typeof createMonitoringService>;

export function createMonitoringService({ pool }: { pool: Pool }) {
  return {
    async latest(clusterRef: string, query: MetricsFilter) {
      const cluster = await findCluster(pool, clusterRef);
      const cursor = decodeCursor(query.cursor, SampleCursor);
      const after: SampleKey | undefined = cursor && [cursor[1], cursor[2], cursor[3], cursor[4], cursor[5]];
      const { samples, unparsed } = await latestSamples(pool, cluster.id, query, { limit: query.limit, after });
      const { items, nextCursor } = pageOf(samples, query.limit, (s) => [2, s.host, s.service, s.role, s.metric, s.labels]);
      return { samples: items.map(view), unparsed, nextCursor };
    },
  };
}

/** HTTP routes of monitoring (see src/platform/http/registry.ts): the latest scraped samples of a cluster. */
import { z } from 'zod';
import { clustersRepo } from '../clusters/repo.js';
import { notFound } from '../../platform/errors.js';
import { safeText } from '../../platform/validation.js';
import type { ApiDeps } from '../../platform/http/deps.js';
import { decodeCursor, pageOf, PageQuery } from '../../platform/http/paging.js';
import { route } from '../../platform/http/registry.js';
import { NextCursor, Timestamp } from '../../platform/http/schemas.js';
import { latestSamples, type SampleKey, type SeriesSample } from './samples.js';

export const MetricsQuery = z.object({
  host: safeText().min(1).max(253).optional().describe('only samples of this host'),
  service: safeText().min(1).max(253).optional().describe('only samples of this service'),
  metric: z
    .string()
    .regex(/^[A-Za-z_:][A-Za-z0-9_:]{0,199}$/, 'expected a Prometheus metric name: letters, digits, "_" and ":", not starting with a digit')
    .optional()
    .describe('only samples of this metric, e.g. node_load1 or up'),
  ...PageQuery,
});

/** The sort key of the list: host, service, role, metric, labels (after a version, so a cursor of another order is refused). */
const SampleCursor = z.tuple([z.literal(2), z.string(), z.string(), z.string(), z.string(), z.record(z.string(), z.string())]);

/** JSON has no NaN or infinities: those travel as Prometheus writes them. */
const Value = z.union([z.number(), z.enum(['NaN', '+Inf', '-Inf'])]);
const valueOf = (v: number) => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'NaN' : v > 0 ? '+Inf' : '-Inf');

const SampleView = z.object({
  metric: z.string(),
  labels: z.record(z.string(), z.string()).describe("the series' own labels; `up` carries service, role and host"),
  value: Value,
  host: z.string(),
  service: z.string(),
  role: z.string(),
  at: Timestamp.describe('when the poll took this sample'),
});

const view = (s: SeriesSample) => ({ metric: s.metric, labels: s.labels, value: valueOf(s.value), host: s.host, service: s.service, role: s.role, at: s.at });

export function monitoringRoutes({ pool }: ApiDeps) {
  return [
    route({
      method: 'get',
      path: '/api/v1/clusters/:cluster/metrics',
      summary: 'The latest sample of each series scraped from the cluster, with the synthetic `up` per role instance, by host, service, role, metric and labels (paged)',
      query: MetricsQuery,
      status: 200,
      response: z.object({
        samples: z.array(SampleView),
        unparsed: z
          .array(z.object({ host: z.string(), service: z.string(), role: z.string(), error: z.string() }))
          .describe("targets of this page whose latest scrape does not parse: their scraped samples are left out (`up` and Sophon's own series are not)"),
        nextCursor: NextCursor,
      }),
      handler: async ({ params, query }) => {
        const cluster = await clustersRepo(pool).find(params.cluster!);
        if (!cluster) throw notFound('Cluster', params.cluster!);
        const cursor = decodeCursor(query.cursor, SampleCursor);
        const after: SampleKey | undefined = cursor && [cursor[1], cursor[2], cursor[3], cursor[4], cursor[5]];
        const { samples, unparsed } = await latestSamples(pool, cluster.id, query, { limit: query.limit, after });
        const { items, nextCursor } = pageOf(samples, query.limit, (s) => [2, s.host, s.service, s.role, s.metric, s.labels]);
        return { samples: items.map(view), unparsed, nextCursor };
      },
    }),
  ];
}

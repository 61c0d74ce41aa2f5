/** HTTP routes of monitoring (see src/platform/http/registry.ts): the latest scraped samples of a cluster. */
import { z } from 'zod';
import { safeText } from '../../platform/validation.js';
import { PageQuery } from '../../platform/http/paging.js';
import { route } from '../../platform/http/registry.js';
import { NextCursor, Timestamp } from '../../platform/http/schemas.js';
import type { MonitoringService } from './service.js';

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

/** JSON has no NaN or infinities: those travel as Prometheus writes them. */
const Value = z.union([z.number(), z.enum(['NaN', '+Inf', '-Inf'])]);

const SampleView = z.object({
  metric: z.string(),
  labels: z.record(z.string(), z.string()).describe("the series' own labels; `up` carries service, role and host"),
  value: Value,
  host: z.string(),
  service: z.string(),
  role: z.string(),
  at: Timestamp.describe('when the poll took this sample'),
});

export function monitoringRoutes(monitoring: MonitoringService) {
  return [
    route({
      method: 'get',
      path: '/api/v1/clusters/:cluster/metrics',
      summary:
        'The latest sample of each series scraped from the cluster, with the synthetic `up` per role instance, by host, service, role, metric and labels (paged)',
      query: MetricsQuery,
      status: 200,
      response: z.object({
        samples: z.array(SampleView),
        unparsed: z
          .array(z.object({ host: z.string(), service: z.string(), role: z.string(), error: z.string() }))
          .describe(
            "targets of this page whose latest scrape does not parse: their scraped samples are left out (`up` and Sophon's own series are not)",
          ),
        nextCursor: NextCursor,
      }),
      handler: ({ params, query }) => monitoring.latest(params.cluster!, query),
    }),
  ];
}

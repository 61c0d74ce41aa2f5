import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { ApiDeps } from './deps.js';
import { route } from './registry.js';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

const Ready = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.array(z.object({ name: z.enum(['postgres', 'temporal']), ok: z.boolean(), error: z.string().optional() })),
});

export function healthRoutes({ pool, temporal }: ApiDeps, registry: Registry) {
  return [
    route({
      method: 'get',
      path: '/healthz',
      summary: 'Process is up',
      role: 'public',
      status: 200,
      response: z.object({ status: z.literal('ok') }),
      handler: () => ({ status: 'ok' }),
    }),
    route({
      method: 'get',
      path: '/readyz',
      summary: 'Postgres and Temporal are reachable (503 when not)',
      role: 'public',
      status: 200,
      response: Ready,
      handler: async ({ res }) => {
        const checks = await Promise.all([
          withTimeout(pool.query('SELECT 1'), 3000).then(
            () => ({ name: 'postgres', ok: true }),
            (err: Error) => ({ name: 'postgres', ok: false, error: err.message }),
          ),
          withTimeout(temporal.workflowService.getSystemInfo({}), 3000).then(
            () => ({ name: 'temporal', ok: true }),
            (err: Error) => ({ name: 'temporal', ok: false, error: err.message }),
          ),
        ]);
        const ready = checks.every((c) => c.ok);
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
      },
    }),
    route({
      method: 'get',
      path: '/metrics',
      summary:
        "Prometheus metrics: the API process, and Sophon's state from Postgres (hosts, instances, open alerts, operations, polls, notifications)",
      role: 'public',
      status: 200,
      produces: 'text/plain',
      handler: async ({ res }) => {
        res.type(registry.contentType).send(await registry.metrics());
      },
    }),
  ];
}

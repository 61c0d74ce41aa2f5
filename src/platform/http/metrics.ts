import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { Pool } from '../db/pool.js';
import { registerSophonMetrics } from '../../features/monitoring/sophon-metrics.js';

/** The API's own metrics; with `db`, also Sophon's state read from Postgres at each scrape. */
export function createMetrics(db?: { pool: Pool; timeoutMs: number }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sophon_' });
  if (db) registerSophonMetrics(registry, db.pool, db.timeoutMs);
  const httpDuration = new Histogram({
    name: 'sophon_http_request_duration_seconds',
    help: 'Duration of HTTP requests served by the Sophon API',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  const middleware: RequestHandler = (req, res, next) => {
    const end = httpDuration.startTimer();
    res.on('finish', () => {
      // The registered route pattern (set by app.ts) keeps label cardinality bounded: no
      // names or ids in labels, one label for every path no route serves.
      const route = typeof res.locals.route === 'string' ? res.locals.route : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };

  return { registry, middleware };
}

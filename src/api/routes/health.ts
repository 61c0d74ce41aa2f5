import { Router } from 'express';
import type { Registry } from 'prom-client';
import type { ApiDeps } from '../deps.js';

const withTimeout = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

export function healthRoutes({ pool, temporal }: ApiDeps, registry: Registry): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
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
  });

  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}

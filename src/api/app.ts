import { randomUUID } from 'node:crypto';
import express, { Router } from 'express';
import { pinoHttp } from 'pino-http';
import { authenticate, roleByMethod } from './auth.js';
import type { ApiDeps } from './deps.js';
import { createMetrics } from './metrics.js';
import { buildOpenApi, renderDocs } from './openapi.js';
import { errorHandler, notFoundHandler } from './problem.js';
import { auditRoutes } from './routes/audit.js';
import { clusterRoutes } from './routes/clusters.js';
import { credentialRoutes } from './routes/credentials.js';
import { hostRoutes } from './routes/hosts.js';
import { serviceDefRoutes } from './routes/service-defs.js';
import { healthRoutes } from './routes/health.js';
import { operationRoutes } from './routes/operations.js';
import { tokenRoutes } from './routes/tokens.js';
import { discoveryRoutes, serviceRoutes } from '../services/routes.js';
import { createServicesService } from '../services/service.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

export function createApp(deps: ApiDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const metrics = createMetrics();

  app.use(
    pinoHttp({
      logger: deps.logger.child({ component: 'api' }),
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    }),
  );
  app.use(metrics.middleware);
  app.use(express.json({ limit: '1mb', strict: true }));

  app.use(healthRoutes(deps, metrics.registry));
  const openapi = buildOpenApi('1');
  const docs = renderDocs(openapi);
  app.get('/api/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  app.get('/docs', (_req, res) => {
    res.type('html').send(docs);
  });

  const v1 = Router();
  v1.use(authenticate(deps.pool), roleByMethod);
  v1.use('/tokens', tokenRoutes(deps));
  v1.use('/credentials', credentialRoutes(deps));
  v1.use('/service-defs', serviceDefRoutes(deps));
  v1.use('/clusters/:cluster/hosts', hostRoutes(deps));
  const services = createServicesService(deps);
  v1.use('/clusters/:cluster/services', serviceRoutes(services));
  v1.use('/clusters/:cluster/discovery', discoveryRoutes(services));
  v1.use('/clusters', clusterRoutes(deps));
  v1.use('/operations', operationRoutes(deps));
  v1.use('/audit', auditRoutes(deps));
  app.use('/api/v1', v1);

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}

import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import { SophonError } from '../errors.js';
import { isSafeText, parseInput, UNSAFE_TEXT_MESSAGE } from '../validation.js';
import { authenticate, requireRole } from './auth.js';
import type { ApiDeps } from './deps.js';
import { createMetrics } from './metrics.js';
import { buildOpenApi, documentRoutes, type OpenApiDocument } from './openapi.js';
import { errorHandler } from './problem.js';
import { matchPath, methodsFor, roleOf, type Route } from './registry.js';
import { auditRoutes } from '../../features/audit/routes.js';
import { createAuditService } from '../../features/audit/service.js';
import { clusterRoutes } from '../../features/clusters/routes.js';
import { createClustersService } from '../../features/clusters/service.js';
import { credentialRoutes } from '../../features/credentials/routes.js';
import { createCredentialsService } from '../../features/credentials/service.js';
import { healthRoutes } from './health-routes.js';
import { hostRoutes } from '../../features/hosts/routes.js';
import { createHostsService } from '../../features/hosts/service.js';
import { operationRoutes } from '../../features/operations/routes.js';
import { serviceDefRoutes } from '../../features/defs/routes.js';
import { tokenRoutes } from '../../features/tokens/routes.js';
import { createTokensService } from '../../features/tokens/service.js';
import { maintenanceRoutes } from '../../features/maintenance/routes.js';
import { createMaintenanceService } from '../../features/maintenance/service.js';
import { monitoringRoutes } from '../../features/monitoring/routes.js';
import { alertRoutes } from '../../features/alerts/routes.js';
import { createAlertsService } from '../../features/alerts/service.js';
import { createEscalations } from '../../features/notify/escalation-client.js';
import { notifyRoutes } from '../../features/notify/routes.js';
import { createNotifyService } from '../../features/notify/service.js';
import { createMonitoringService } from '../../features/monitoring/service.js';
import { configRoutes } from '../../features/config/routes.js';
import { createConfigService } from '../../features/config/service.js';
import { serviceRoutes } from '../../features/services/routes.js';
import { createServicesService } from '../../features/services/service.js';
import { taskRoutes } from '../../features/tasks/routes.js';
import { createTasksService } from '../../features/tasks/service.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

const invalidParam = (name: string, message: string) =>
  new SophonError('VALIDATION_FAILED', `Invalid path parameter ${name}: ${message}`, [{ path: name, message }]);

const decodes = (raw: string) => {
  try {
    decodeURIComponent(raw);
    return true;
  } catch {
    return false;
  }
};

/** Every endpoint of the API, in the order express tries them (see registry.ts). */
export function apiRoutes(deps: ApiDeps, metricsRegistry: ReturnType<typeof createMetrics>['registry']): Route[] {
  let doc: OpenApiDocument | undefined;
  const routes: Route[] = [
    ...healthRoutes(deps, metricsRegistry),
    ...documentRoutes(() => (doc ??= buildOpenApi('1', routes))),
    ...tokenRoutes(createTokensService(deps)),
    ...credentialRoutes(createCredentialsService(deps)),
    ...serviceDefRoutes(deps.catalog),
    ...clusterRoutes(createClustersService(deps)),
    ...hostRoutes(createHostsService(deps)),
    ...serviceRoutes(createServicesService(deps)),
    ...taskRoutes(createTasksService(deps)),
    ...monitoringRoutes(createMonitoringService(deps)),
    ...alertRoutes(createAlertsService({ ...deps, escalations: createEscalations(deps.temporal, deps.config.temporal.taskQueue) })),
    ...configRoutes(createConfigService(deps)),
    ...maintenanceRoutes(createMaintenanceService(deps)),
    ...operationRoutes(deps.operations),
    ...notifyRoutes(createNotifyService(deps)),
    ...auditRoutes(createAuditService(deps)),
  ];
  return routes;
}

export function createApp(deps: ApiDeps) {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const metrics = createMetrics({ pool: deps.pool, timeoutMs: deps.config.api.dependencyTimeoutMs });

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

  const routes = apiRoutes(deps, metrics.registry);
  const authenticated = authenticate(deps.pool);
  for (const r of routes) {
    const role = roleOf(r);
    const chain: RequestHandler[] = [
      (_req, res, next) => {
        res.locals.route = r.path;
        next();
      },
      ...(role === 'public' ? [] : [authenticated, requireRole(role)]),
    ];
    app[r.method](r.path, ...chain, async (req, res) => {
      // req.is() is null without a body and false for a body of another type.
      if (r.body && req.is('application/json') === false) {
        throw new SophonError(
          'UNSUPPORTED_MEDIA_TYPE',
          `Send the request body as application/json (got ${req.get('content-type') ?? 'no content type'})`,
        );
      }
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.params as Record<string, string>)) {
        if (!isSafeText(value)) throw invalidParam(name, UNSAFE_TEXT_MESSAGE);
        params[name] = value;
      }
      const body: unknown = r.body ? parseInput(r.body, req.body, 'request body') : undefined;
      const query: unknown = r.query ? parseInput(r.query, req.query, 'query') : undefined;
      const answer = await r.handler({ req, res, body, query, params });
      if (res.headersSent) return;
      if (r.status === 204) res.status(204).end();
      else res.status(r.status).json(answer);
    });
  }

  // A known path with another method is a 405 naming the allowed ones; anything else a 404.
  app.use((req, res) => {
    const allowed = methodsFor(routes, req.path);
    if (allowed.length === 0) throw new SophonError('NOT_FOUND', `No route for ${req.method} ${req.path}`);
    res.setHeader('Allow', allowed.join(', '));
    throw new SophonError('METHOD_NOT_ALLOWED', `${req.method} is not supported on ${req.path}; allowed: ${allowed.join(', ')}`);
  });
  // Express refuses a path parameter that is not valid percent-encoding (%ff) with a URIError.
  const badEncoding: ErrorRequestHandler = (err, req, _res, next) => {
    if (!(err instanceof URIError)) return next(err);
    const params = routes.map((r) => matchPath(r.path, req.path)).find((p) => p !== undefined) ?? {};
    const name = Object.entries(params).find(([, raw]) => !decodes(raw))?.[0] ?? 'path';
    next(invalidParam(name, 'expected valid percent-encoded UTF-8'));
  };
  app.use(badEncoding);
  app.use(errorHandler);
  return app;
}

import { z } from 'zod';
import { CreateClusterBody } from './routes/clusters.js';
import { CreateCredentialBody } from './routes/credentials.js';
import { AddHostsBody, PatchHostBody } from './routes/hosts.js';
import { CreateTokenBody } from './routes/tokens.js';

interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  summary: string;
  role: 'none' | 'viewer' | 'operator' | 'admin';
  body?: z.ZodType;
  success: number;
  /** Starts work and takes an Idempotency-Key (see idempotencyOf). */
  idempotent?: true;
}

/** One line per endpoint; request schemas come from the same zod schemas the routes use. */
const ROUTES: RouteDoc[] = [
  { method: 'get', path: '/healthz', summary: 'Process is up', role: 'none', success: 200 },
  { method: 'get', path: '/readyz', summary: 'Postgres and Temporal are reachable', role: 'none', success: 200 },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics of the API process', role: 'none', success: 200 },
  { method: 'get', path: '/docs', summary: 'This list of endpoints as a page', role: 'none', success: 200 },
  { method: 'get', path: '/api/openapi.json', summary: 'OpenAPI 3.1 description of the API', role: 'none', success: 200 },
  { method: 'get', path: '/api/v1/tokens', summary: 'List API tokens', role: 'admin', success: 200 },
  { method: 'post', path: '/api/v1/tokens', summary: 'Create an API token (shown once)', role: 'admin', body: CreateTokenBody, success: 201 },
  { method: 'delete', path: '/api/v1/tokens/{id}', summary: 'Revoke an API token', role: 'admin', success: 200 },
  { method: 'get', path: '/api/v1/clusters', summary: 'List clusters', role: 'viewer', success: 200 },
  { method: 'post', path: '/api/v1/clusters', summary: 'Create a cluster (starts an operation)', role: 'operator', body: CreateClusterBody, success: 202, idempotent: true },
  { method: 'get', path: '/api/v1/clusters/{cluster}', summary: 'Show a cluster by id or name', role: 'viewer', success: 200 },
  { method: 'get', path: '/api/v1/service-defs', summary: 'List the service definitions of the catalog', role: 'viewer', success: 200 },
  { method: 'get', path: '/api/v1/service-defs/{name}', summary: 'Show one service definition', role: 'viewer', success: 200 },
  { method: 'get', path: '/api/v1/credentials', summary: 'List SSH credentials (never their keys)', role: 'admin', success: 200 },
  { method: 'post', path: '/api/v1/credentials', summary: 'Store an SSH credential, encrypted at rest', role: 'admin', body: CreateCredentialBody, success: 201 },
  { method: 'get', path: '/api/v1/clusters/{cluster}/hosts', summary: 'List the hosts of a cluster', role: 'viewer', success: 200 },
  { method: 'post', path: '/api/v1/clusters/{cluster}/hosts', summary: 'Add hosts (ranges such as node[1-3]) and bootstrap them', role: 'operator', body: AddHostsBody, success: 202, idempotent: true },
  { method: 'get', path: '/api/v1/clusters/{cluster}/hosts/{host}', summary: 'Show a host with its facts and status', role: 'viewer', success: 200 },
  { method: 'patch', path: '/api/v1/clusters/{cluster}/hosts/{host}', summary: 'Change labels or maintenance mode', role: 'operator', body: PatchHostBody, success: 200 },
  { method: 'delete', path: '/api/v1/clusters/{cluster}/hosts/{host}', summary: 'Remove a host that runs no service instances', role: 'operator', success: 204 },
  { method: 'post', path: '/api/v1/clusters/{cluster}/hosts/{host}/repin-host-key', summary: 'Forget the pinned host key and bootstrap again', role: 'operator', success: 202, idempotent: true },
  { method: 'get', path: '/api/v1/operations', summary: 'List operations (filters: cluster, service, status)', role: 'viewer', success: 200 },
  { method: 'get', path: '/api/v1/operations/{id}', summary: 'Show an operation with its steps and Temporal UI link', role: 'viewer', success: 200 },
  { method: 'post', path: '/api/v1/operations/{id}/cancel', summary: 'Cancel a running operation', role: 'operator', success: 202 },
  { method: 'get', path: '/api/v1/audit', summary: 'Audit log, newest first', role: 'admin', success: 200 },
];

const IDEMPOTENCY_PARAM = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Up to 255 characters, no control characters. Repeating the request with the same key and body within 24 hours ' +
    'answers the first operation again instead of starting another; the same key with a different request is refused (422 IDEMPOTENCY_KEY_REUSED).',
  schema: { type: 'string', maxLength: 255 },
};

const problem = {
  description: 'Error (application/problem+json)',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};

export function buildOpenApi(version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.idempotent) params.push(IDEMPOTENCY_PARAM);
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      ...(r.role === 'none' ? { security: [] } : { 'x-sophon-role': r.role }),
      ...(params.length ? { parameters: params } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: z.toJSONSchema(r.body, { io: 'input' }) } } } }
        : {}),
      responses: { [r.success]: { description: 'Success' }, default: problem },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Sophon API', version },
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Problem: {
          type: 'object',
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string' },
            detail: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    },
    paths,
  };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `/docs`: the endpoint list as a page, readable without any script or outside asset. */
export function renderDocs(doc: ReturnType<typeof buildOpenApi>): string {
  const rows = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => {
      const { summary, 'x-sophon-role': role } = op as { summary: string; 'x-sophon-role'?: string };
      return `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(role ?? 'none')}</td><td>${escapeHtml(summary)}</td></tr>`;
    }),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sophon API</title>
<style>body{font-family:sans-serif;margin:2rem}td,th{padding:.3rem .8rem;text-align:left;border-bottom:1px solid #ddd}</style></head>
<body><h1>Sophon API ${escapeHtml(doc.info.version)}</h1>
<p>Send <code>Authorization: Bearer &lt;token&gt;</code> on everything under <code>/api</code>. Errors are
<code>application/problem+json</code>. The machine-readable description is <a href="/api/openapi.json">/api/openapi.json</a>.</p>
<table><thead><tr><th>method</th><th>path</th><th>role</th><th>what it does</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>`;
}

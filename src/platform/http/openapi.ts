import { z } from 'zod';
import { openApiPath, roleOf, type Route } from './registry.js';

const problem = {
  description: 'Error (application/problem+json)',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};

/** What each path parameter name stands for, with an example (fuzzers start from it too). */
const PATH_PARAMS: Record<string, { description: string; example: string }> = {
  cluster: { description: 'Cluster id or name', example: 'lab' },
  host: { description: 'Host id or hostname within the cluster', example: 'node1' },
  credential: { description: 'Credential id or name', example: 'ops-key' },
  name: { description: 'Service definition name', example: 'zookeeper' },
  id: { description: 'Id (uuid)', example: '00000000-0000-4000-8000-000000000000' },
};

const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => z.toJSONSchema(schema, { io, unrepresentable: 'any' });

const IDEMPOTENCY_PARAM = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Up to 255 characters, no control characters. Repeating the request with the same key and body within 24 hours ' +
    'answers the first operation again instead of starting another; the same key with a different request is refused (422 IDEMPOTENCY_KEY_REUSED).',
  schema: { type: 'string', maxLength: 255 },
};

/** Query parameters from a route's zod object schema, one per property. */
function queryParameters(schema: z.ZodType) {
  const json = jsonSchema(schema, 'input') as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: json.required?.includes(name) ?? false,
    schema: s,
  }));
}

/** The OpenAPI document of the registered routes (see registry.ts): nothing is listed by hand. */
export function buildOpenApi(version: string, routes: Route[]) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = openApiPath(r.path);
    const params = [...r.path.matchAll(/:(\w+)/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      ...PATH_PARAMS[name!],
      schema: { type: 'string', minLength: 1, maxLength: 253 },
    }));
    const role = roleOf(r);
    const success = r.response
      ? { description: 'Success', content: { 'application/json': { schema: jsonSchema(r.response, 'output') } } }
      : r.produces
        ? { description: 'Success', content: { [r.produces]: { schema: { type: 'string' } } } }
        : { description: 'Success (no content)' };
    (paths[path] ??= {})[r.method] = {
      summary: r.summary,
      ...(role === 'public' ? { security: [] } : { 'x-sophon-role': role }),
      ...(params.length || r.query || r.idempotent
        ? { parameters: [...params, ...(r.query ? queryParameters(r.query) : []), ...(r.idempotent ? [IDEMPOTENCY_PARAM] : [])] }
        : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body, 'input') } } } } : {}),
      responses: { [r.status]: success, default: problem },
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
          required: ['type', 'title', 'status', 'code', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            code: { type: 'string' },
            detail: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                required: ['path', 'message'],
                properties: { path: { type: 'string' }, message: { type: 'string' }, column: { type: 'integer' } },
              },
            },
            requestId: { type: 'string' },
          },
        },
      },
    },
    paths,
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApi>;

/** `/api/openapi.json` and `/docs`, described like every other route. */
export function documentRoutes(doc: () => OpenApiDocument): Route[] {
  return [
    {
      method: 'get',
      path: '/api/openapi.json',
      summary: 'OpenAPI 3.1 description of the API',
      role: 'public',
      status: 200,
      response: z.looseObject({ openapi: z.literal('3.1.0'), paths: z.record(z.string(), z.unknown()) }),
      handler: () => doc(),
    },
    {
      method: 'get',
      path: '/docs',
      summary: 'This list of endpoints as a page',
      role: 'public',
      status: 200,
      produces: 'text/html',
      handler: ({ res }) => {
        res.type('html').send(renderDocs(doc()));
      },
    },
  ];
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `/docs`: the endpoint list as a page, readable without any script or outside asset. */
export function renderDocs(doc: OpenApiDocument): string {
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

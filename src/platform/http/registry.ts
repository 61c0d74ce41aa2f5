/**
 * The route registry: one descriptor per endpoint, used both to mount it (app.ts) and to
 * describe it in the OpenAPI document (openapi.ts), so the two cannot drift apart.
 *
 * To add an endpoint, add `route({...})` to the list a routes file returns (and that list to
 * app.ts if the file is new): the full path in express syntax (`/api/v1/clusters/:cluster`),
 * the request schemas (`body`, `query`) and the zod schema of the success answer (`response`).
 * The handler gets the parsed body and query and returns the answer's body; the wrapper
 * sends it with `status`. Authentication, the role check, the content type and path
 * parameters are checked before the handler runs.
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { Role } from './roles.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteInput<B, Q> {
  req: Request;
  res: Response;
  body: B;
  query: Q;
  /** Decoded path parameters, already checked for control characters. */
  params: Record<string, string>;
}

export interface Route<B extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType> {
  method: Method;
  path: string;
  summary: string;
  /** `public` needs no token; without a role, reads need viewer and changes operator. */
  role?: Role | 'public';
  body?: B;
  query?: Q;
  /** Starts work and honours an `Idempotency-Key` header (see idempotency.ts). */
  idempotent?: boolean;
  /** Status of the success answer. */
  status: number;
  /** Schema of the JSON success answer; omit for 204. */
  response?: z.ZodType;
  /** Content type of a success answer that is not JSON (the handler then sends it itself). */
  produces?: string;
  handler: (input: RouteInput<z.output<B>, z.output<Q>>) => unknown;
}

/** Declares a route; infers the handler's body and query types from the schemas. */
export function route<B extends z.ZodType = z.ZodUnknown, Q extends z.ZodType = z.ZodUnknown>(r: Route<B, Q>): Route {
  return r as unknown as Route;
}

/** The role a route needs: its own, else viewer for reads and operator for changes. */
export const roleOf = (r: Route): Role | 'public' => r.role ?? (r.method === 'get' ? 'viewer' : 'operator');

/**
 * Matches a raw (still percent-encoded) request path against a route path; returns the raw
 * parameter values, or undefined. Same rules as express: case-insensitive, optional trailing slash.
 */
export function matchPath(pattern: string, rawPath: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = rawPath.replace(/(.)\/$/, '$1').split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of want.entries()) {
    const value = got[i]!;
    if (segment.startsWith(':')) {
      if (value === '') return undefined;
      params[segment.slice(1)] = value;
    } else if (segment.toLowerCase() !== value.toLowerCase()) {
      return undefined;
    }
  }
  return params;
}

/** The methods the registry serves on a path (HEAD wherever GET is), for 405 and `Allow`. */
export function methodsFor(routes: Route[], rawPath: string): string[] {
  const methods = new Set(routes.filter((r) => matchPath(r.path, rawPath)).map((r) => r.method.toUpperCase()));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/** `/api/v1/clusters/:cluster` → `/api/v1/clusters/{cluster}` */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

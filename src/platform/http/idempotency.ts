import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { IdempotencyRequest } from './idempotency-repo.js';
import { SophonError } from '../errors.js';
import { who } from './auth.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
const MAX_KEY_LENGTH = 255;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * JSON with object keys sorted, so the same body sent with its fields in another order or
 * other whitespace hashes the same. Takes only what express.json produced (no cycles).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function invalidHeader(message: string): SophonError {
  return new SophonError('VALIDATION_FAILED', `Invalid ${IDEMPOTENCY_HEADER} header: ${message}`, [
    { path: `headers.${IDEMPOTENCY_HEADER}`, message },
  ]);
}

/**
 * The idempotency identity of a request that starts work, or undefined when it carries no
 * Idempotency-Key. Pass it to `operations.start({ idempotency })`.
 */
export function idempotencyOf(req: Request): IdempotencyRequest | undefined {
  const key = req.get(IDEMPOTENCY_HEADER);
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw invalidHeader(`expected 1 to ${MAX_KEY_LENGTH} characters, got ${key.length}`);
  }
  if (CONTROL.test(key)) throw invalidHeader('control characters are not allowed');
  const body: unknown = req.body ?? null;
  const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  return {
    key,
    actor: req.principal?.tokenId ?? 'anonymous',
    method: req.method,
    path: req.originalUrl.split('?')[0]!,
    requestHash: sha256(canonicalJson(body)),
    fieldHashes: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, sha256(canonicalJson(v))])),
  };
}

/** Who asks, for the operation row and the audit log. */
export interface Requester {
  actor: string;
  requestId: string;
  idempotency: IdempotencyRequest | undefined;
}

/** Who asks a request that starts work, for the operation row and the audit log: who(req) and its idempotency identity. */
export function requesterOf(req: Request): Requester {
  return { ...who(req), idempotency: idempotencyOf(req) };
}

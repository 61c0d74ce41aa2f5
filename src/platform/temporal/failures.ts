import { ApplicationFailure } from '@temporalio/common';
import { SophonError } from '../errors.js';

/** Codes of failures that retrying cannot fix: the operator has to change something. */
const DEFINITIVE = new Set([
  'VALIDATION_FAILED',
  'NOT_FOUND',
  'CONFLICT',
  'FORBIDDEN',
  'SECRET_UNREADABLE',
  'PREREQUISITES_FAILED',
  'DEFINITION_INVALID',
  'PLACEMENT_INVALID',
  'PACKAGE_INVALID',
  'ARCHIVE_UNSAFE',
  'HEALTH_CHECK_FAILED',
]);

/**
 * Converts a SophonError into a Temporal failure carrying its stable code as the type;
 * definitive ones are non-retryable. Anything else is rethrown and retried.
 */
export function asActivityFailure(err: unknown): unknown {
  if (err instanceof SophonError) {
    const retryable = 'retryable' in err ? Boolean((err as { retryable: unknown }).retryable) : !DEFINITIVE.has(err.code);
    return ApplicationFailure.create({ type: err.code, message: err.message, nonRetryable: !retryable });
  }
  return err;
}

/** Wraps every activity so typed errors reach the workflow with their code. */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw asActivityFailure(err);
      }
    };
  }
  return wrapped as T;
}

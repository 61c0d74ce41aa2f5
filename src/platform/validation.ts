import { z } from 'zod';
import { SophonError, type FieldError } from './errors.js';

/** Turns zod issues into field errors with dotted paths (`hosts.2.port`). */
export function fieldErrors(error: z.ZodError, prefix = ''): FieldError[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    return { path: path === '' ? '(root)' : path, message: issue.message };
  });
}

/** Parses input at an edge of the system; bad input becomes a VALIDATION_FAILED error. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = fieldErrors(result.error);
  const summary = errors.map((e) => `${e.path}: ${e.message}`).join('; ');
  throw new SophonError('VALIDATION_FAILED', `Invalid ${what}: ${summary}`, errors);
}

/** One bad field of a request body found after parsing (a lookup or a cross-field check). */
export function invalidField(path: string, message: string): SophonError {
  return new SophonError('VALIDATION_FAILED', `Invalid request body: ${path}: ${message}`, [{ path, message }]);
}

/** C0 controls, DEL and the bidirectional overrides that make text display as something else. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_TEXT = /[\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/;
export const UNSAFE_TEXT_MESSAGE = 'must not contain control characters or bidirectional overrides';
export const isSafeText = (text: string) => !UNSAFE_TEXT.test(text);

/**
 * A string of names, labels and descriptions: shown to people and stored as text, so control
 * characters (NUL included, which Postgres refuses) and bidi overrides are refused.
 */
export const safeText = () => z.string({ error: 'expected a string' }).refine(isSafeText, UNSAFE_TEXT_MESSAGE);

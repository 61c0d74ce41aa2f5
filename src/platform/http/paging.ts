import { z } from 'zod';
import { invalidField } from '../validation.js';

/**
 * Keyset paging for every list that can grow (hosts, operations, audit). A request gives
 * `limit` and the `cursor` of the previous page; the cursor is the last row's sort key,
 * base64url-encoded JSON, opaque to clients. Answers carry `nextCursor`, null on the last page.
 */
export const PageQuery = {
  limit: z.coerce
    .number({ error: 'expected a number' })
    .int('expected a whole number')
    .min(1, 'expected 1 to 1000')
    .max(1000, 'expected 1 to 1000')
    .default(100),
  cursor: z.string().max(512, 'expected a cursor from a previous answer').optional(),
};

/** The sort key a cursor carries; a cursor that is not one of ours is a 400 naming `cursor`. */
export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, key: T): z.output<T> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = key.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // falls through to the error below
  }
  throw invalidField('cursor', 'expected the nextCursor of a previous answer');
}

/**
 * Cuts rows fetched with `limit + 1` to one page; the extra row only tells that more follow.
 */
export function pageOf<R>(rows: R[], limit: number, keyOf: (row: R) => unknown): { items: R[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  const nextCursor = rows.length > limit && last !== undefined ? Buffer.from(JSON.stringify(keyOf(last))).toString('base64url') : null;
  return { items, nextCursor };
}

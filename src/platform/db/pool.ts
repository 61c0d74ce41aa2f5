import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/**
 * A connection pool. With `timeoutMs`, every query and every wait for a connection has that
 * deadline (the server cancels the statement; the client gives up if even that goes
 * unanswered), so a request never waits on Postgres for longer.
 */
export function createPool(databaseUrl: string, opts: { max?: number; timeoutMs?: number } = {}): Pool {
  const deadline = opts.timeoutMs
    ? { statement_timeout: opts.timeoutMs, query_timeout: opts.timeoutMs + 1000, connectionTimeoutMillis: opts.timeoutMs }
    : {};
  const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.max ?? 10, application_name: 'sophon', ...deadline });
  // An idle client losing its connection (database restart) must not crash the process;
  // the next query gets a fresh connection.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` in a transaction, rolling back on any error. */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** Whether text can be compared with a uuid column (which keeps primary-key lookups indexed). */
export const isUuid = (text: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);

/** Whether an error means Postgres is unreachable or did not answer in time (a 503, not a bug). */
export function isPostgresUnavailable(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) {
    // 57014: statement cancelled by statement_timeout; 08: connection exceptions; 53: out of
    // resources; 57P: server shutting down or starting.
    return /^(57014|08|53|57P)/.test(err.code ?? '');
  }
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(String(code)) ||
    /^(Query read timeout|timeout exceeded when trying to connect|Connection terminated)/.test(String(message))
  );
}

/** Postgres errors that mean the request clashed with existing rows: unique or foreign key. */
export const isConstraintConflict = (err: unknown) => err instanceof pg.DatabaseError && (err.code === '23505' || err.code === '23503');

import { Context } from '@temporalio/activity';
import type { Pool } from '../src/db/pool.js';

export interface StepOutcome {
  exitCode?: number | null;
  stdoutTail?: string;
  stderrTail?: string;
  message?: string;
}

const TAIL = 4000;
const tail = (text: string | undefined) => (text === undefined ? null : text.slice(-TAIL));

/**
 * Keeps one row per (operation, host, step) in step with an activity: RUNNING with the
 * attempt number when it starts, then SUCCEEDED or FAILED with duration, exit code, output
 * tails and the reason. A retry overwrites the row, so it shows the latest attempt.
 */
export async function trackStep<T>(
  pool: Pool,
  key: { operationId: string; host: string; step: string },
  body: () => Promise<T & { outcome?: StepOutcome }>,
): Promise<T> {
  const attempt = Context.current().info.attempt;
  const started = Date.now();
  await pool.query(
    `INSERT INTO operation_steps (operation_id, host, step, status, attempt, started_at)
     VALUES ($1, $2, $3, 'RUNNING', $4, now())
     ON CONFLICT (operation_id, host, step) DO UPDATE
       SET status = 'RUNNING', attempt = $4, started_at = now(), finished_at = NULL, message = NULL`,
    [key.operationId, key.host, key.step, attempt],
  );
  const finish = (status: 'SUCCEEDED' | 'FAILED', o: StepOutcome) =>
    pool.query(
      `UPDATE operation_steps SET status = $4, duration_ms = $5, exit_code = $6, stdout_tail = $7, stderr_tail = $8,
         message = $9, finished_at = now()
       WHERE operation_id = $1 AND host = $2 AND step = $3`,
      [key.operationId, key.host, key.step, status, Date.now() - started, o.exitCode ?? null, tail(o.stdoutTail), tail(o.stderrTail), o.message ?? null],
    );
  try {
    const result = await body();
    await finish('SUCCEEDED', result.outcome ?? {});
    return result;
  } catch (err) {
    await finish('FAILED', { message: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
    throw err;
  }
}

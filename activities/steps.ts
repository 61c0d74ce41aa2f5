import { Context } from '@temporalio/activity';
import type { Pool } from '../src/db/pool.js';
import { SshError } from '../src/ssh/index.js';

export interface StepOutcome {
  exitCode?: number | null;
  message?: string;
}

/** Output callbacks for commands run by a step; what they receive shows up on the step live. */
export interface StepOutput {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

const TAIL = 4000;
const FLUSH_EVERY_MS = 1000;

/** The last TAIL characters of a stream, fed chunk by chunk. */
function rollingTail() {
  let text = '';
  return {
    push(chunk: Buffer) {
      text = (text + chunk.toString('utf8')).slice(-TAIL);
    },
    get value() {
      return text === '' ? null : text;
    },
  };
}

/**
 * Keeps one row per (operation, host, step) in step with an activity: RUNNING with the
 * attempt number when it starts, output tails while it runs (flushed at most once a
 * second), then SUCCEEDED or FAILED with duration, exit code and the reason. A retry
 * overwrites the row, so it shows the latest attempt.
 */
export async function trackStep<T>(
  pool: Pool,
  key: { operationId: string; host: string; step: string },
  body: (output: StepOutput) => Promise<T & { outcome?: StepOutcome }>,
): Promise<T> {
  const attempt = Context.current().info.attempt;
  const started = Date.now();
  const where = [key.operationId, key.host, key.step];
  await pool.query(
    `INSERT INTO operation_steps (operation_id, host, step, status, attempt, started_at)
     VALUES ($1, $2, $3, 'RUNNING', $4, now())
     ON CONFLICT (operation_id, host, step) DO UPDATE
       SET status = 'RUNNING', attempt = $4, started_at = now(), finished_at = NULL, message = NULL,
           exit_code = NULL, stdout_tail = NULL, stderr_tail = NULL`,
    [...where, attempt],
  );

  const stdout = rollingTail();
  const stderr = rollingTail();
  let flushing: Promise<unknown> = Promise.resolve();
  let lastFlush = 0;
  const flushSoon = () => {
    if (Date.now() - lastFlush < FLUSH_EVERY_MS) return;
    lastFlush = Date.now();
    flushing = flushing
      .then(() =>
        pool.query(`UPDATE operation_steps SET stdout_tail = $4, stderr_tail = $5 WHERE operation_id = $1 AND host = $2 AND step = $3`, [
          ...where,
          stdout.value,
          stderr.value,
        ]),
      )
      .catch(() => undefined);
  };
  const output: StepOutput = {
    onStdout(chunk) {
      stdout.push(chunk);
      flushSoon();
    },
    onStderr(chunk) {
      stderr.push(chunk);
      flushSoon();
    },
  };

  const finish = async (status: 'SUCCEEDED' | 'FAILED', o: StepOutcome) => {
    await flushing;
    await pool.query(
      `UPDATE operation_steps SET status = $4, duration_ms = $5, exit_code = $6, stdout_tail = $7, stderr_tail = $8,
         message = $9, finished_at = now()
       WHERE operation_id = $1 AND host = $2 AND step = $3`,
      [...where, status, Date.now() - started, o.exitCode ?? null, stdout.value, stderr.value, o.message ?? null],
    );
  };
  try {
    const result = await body(output);
    await finish('SUCCEEDED', result.outcome ?? {});
    return result;
  } catch (err) {
    const exitCode = err instanceof SshError ? err.exitCode : undefined;
    await finish('FAILED', { message: err instanceof Error ? err.message : String(err), exitCode: exitCode ?? null }).catch(() => undefined);
    throw err;
  }
}

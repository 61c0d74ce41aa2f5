import { hostActivity } from '../../platform/temporal/host-activity.js';
import type { Pool } from '../../platform/db/pool.js';
import { SshError } from '../../platform/ssh/index.js';

export interface StepOutcome {
  exitCode?: number | null;
  message?: string;
}

/**
 * Handed to a step's body: output callbacks (what they receive shows up on the step live)
 * and the activity's cancellation signal, to pass to every SSH call so a cancel kills the
 * remote process group.
 */
export interface StepOutput {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  signal: AbortSignal;
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

/** What a step row is keyed by: the instance (role on host; role '' for the host), phase and step. */
export interface StepKey {
  operationId: string;
  host: string;
  role?: string;
  phase?: string;
  step: string;
}

/**
 * Records one attempt of a step as its own row, in step with an activity: RUNNING when it
 * starts, output tails while it runs (flushed at most once a second), then SUCCEEDED or
 * FAILED with duration, exit code and the reason. Attempts are numbered per key across
 * activity retries and operator retries; each attempt writes only its own row, so a late
 * write from an older attempt never overwrites a newer one. Steps touch hosts, so they run
 * as host activities: heartbeating, and cancelled through the signal in `output`.
 */
export function trackStep<T>(pool: Pool, key: StepKey, body: (output: StepOutput) => Promise<T & { outcome?: StepOutcome }>): Promise<T> {
  return hostActivity(async ({ signal, progress }) => {
    const started = Date.now();
    const keyArgs = [key.operationId, key.host, key.role ?? '', key.phase ?? '', key.step];
    // An attempt still RUNNING belongs to a worker that died or an activity that timed out.
    await pool.query(
      `UPDATE operation_steps SET status = 'FAILED', finished_at = now(), message = coalesce(message, 'abandoned: its worker stopped answering')
       WHERE operation_id = $1 AND host = $2 AND role = $3 AND phase = $4 AND step = $5 AND status = 'RUNNING'`,
      keyArgs,
    );
    const inserted = await pool.query<{ id: string }>(
      `INSERT INTO operation_steps (operation_id, host, role, phase, step, status, attempt, started_at)
       SELECT $1, $2, $3, $4, $5, 'RUNNING', coalesce(max(attempt), 0) + 1, now()
         FROM operation_steps WHERE operation_id = $1 AND host = $2 AND role = $3 AND phase = $4 AND step = $5
       RETURNING id`,
      keyArgs,
    );
    const id = inserted.rows[0]!.id;

    const stdout = rollingTail();
    const stderr = rollingTail();
    let outputBytes = 0;
    let flushing: Promise<unknown> = Promise.resolve();
    let lastFlush = 0;
    const received = (tail: ReturnType<typeof rollingTail>, chunk: Buffer) => {
      tail.push(chunk);
      outputBytes += chunk.length;
      progress({ host: key.host, step: key.step, outputBytes });
      if (Date.now() - lastFlush < FLUSH_EVERY_MS) return;
      lastFlush = Date.now();
      flushing = flushing
        .then(() =>
          pool.query(`UPDATE operation_steps SET stdout_tail = $2, stderr_tail = $3 WHERE id = $1 AND finished_at IS NULL`, [
            id,
            stdout.value,
            stderr.value,
          ]),
        )
        .catch(() => undefined);
    };
    progress({ host: key.host, step: key.step, outputBytes });
    const output: StepOutput = { signal, onStdout: (chunk) => received(stdout, chunk), onStderr: (chunk) => received(stderr, chunk) };

    const finish = async (status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED', o: StepOutcome) => {
      await flushing;
      await pool.query(
        `UPDATE operation_steps SET status = $2, duration_ms = $3, exit_code = $4, stdout_tail = $5, stderr_tail = $6,
           message = $7, finished_at = now()
         WHERE id = $1`,
        [id, status, Date.now() - started, o.exitCode ?? null, stdout.value, stderr.value, o.message ?? null],
      );
    };
    try {
      const result = await body(output);
      await finish('SUCCEEDED', result.outcome ?? {});
      return result;
    } catch (err) {
      const exitCode = err instanceof SshError ? err.exitCode : undefined;
      const message = signal.aborted
        ? `cancelled: ${err instanceof Error ? err.message : String(err)}`
        : err instanceof Error
          ? err.message
          : String(err);
      await finish(signal.aborted ? 'CANCELLED' : 'FAILED', { message, exitCode: exitCode ?? null }).catch(() => undefined);
      throw err;
    }
  });
}

/** Records that the operator chose to skip a step: a row of its own, after the failed attempts. */
export async function recordSkippedStep(pool: Pool, key: StepKey, reason: string): Promise<void> {
  await pool.query(
    `INSERT INTO operation_steps (operation_id, host, role, phase, step, status, attempt, message, started_at, finished_at)
     SELECT $1, $2, $3, $4, $5, 'SKIPPED', coalesce(max(attempt), 0) + 1, $6, now(), now()
       FROM operation_steps WHERE operation_id = $1 AND host = $2 AND role = $3 AND phase = $4 AND step = $5`,
    [key.operationId, key.host, key.role ?? '', key.phase ?? '', key.step, reason],
  );
}

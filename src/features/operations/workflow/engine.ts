/**
 * The step engine every operation workflow uses. A step runs as an activity that records
 * itself (../steps.ts); transient failures retry with backoff inside the activity's
 * retry policy. When a step has spent its retries or fails definitively, the operation goes
 * HOLDING and waits, without a timeout, for the operator's `decide` Update: retry the step,
 * skip it (the host is recorded SKIPPED), abort (FAILED), or roll back (ROLLED_BACK).
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';
import type { HeldStep } from '../repo.js';
import { mapBounded } from '../../../platform/concurrency.js';
import { decideUpdate, type DecisionAction } from './messages.js';
import { describeFailure } from './run-operation.js';
import { RollbackRequested } from './rollback.js';
import { stepSummary, withSummary } from './step-summary.js';

export { RollbackRequested };

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

export interface StepKey {
  host: string;
  role?: string;
  phase: string;
  step: string;
}

export interface Engine {
  /**
   * Runs a step until it succeeds or the operator skips it; false when skipped. A failure
   * that `tolerate` accepts (a rolling action within its maxFailures) returns false at once.
   */
  step(key: StepKey, run: () => Promise<unknown>, opts?: { tolerate?: () => boolean }): Promise<boolean>;
  /** Runs `fn` on every item, at most `limit` at once; the first fatal error cancels the rest. */
  forEach<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void>;
  phase(name: string): Promise<void>;
  /** How many steps the operation plans, for its percent done. */
  plan(totalSteps: number): Promise<void>;
  /** Whether `rollback` is offered (false once rolling back, or for operations with nothing to undo). */
  allowRollback(allowed: boolean, why?: string): void;
}

export function createEngine(operationId: string, opts: { canRollback: boolean; noRollbackReason?: string }): Engine {
  let seq = 0;
  let phase: string | null = null;
  let total: number | null = null;
  let canRollback = opts.canRollback;
  let noRollbackReason = opts.noRollbackReason ?? 'this operation has nothing to roll back';
  const held = new Map<number, HeldStep>();
  let nextHold = 0;
  let decisions = 0;
  let lastDecision: DecisionAction = 'abort';

  // The Update answers once the operation row shows the decision taken (no longer HOLDING on
  // those steps), so whoever sent it reads the new state right after.
  setHandler(
    decideUpdate,
    async ({ action }) => {
      const waiting = [...held.keys()];
      decisions++;
      lastDecision = action;
      await condition(() => waiting.every((id) => !held.has(id)));
      const target = seq;
      await condition(() => reported >= target);
      return { accepted: action, steps: waiting.length };
    },
    {
      validator: ({ action }) => {
        if (held.size === 0) throw new Error('the operation is not HOLDING: no step waits for a decision');
        if (action === 'rollback' && !canRollback) throw new Error(`cannot roll back: ${noRollbackReason}`);
      },
    },
  );

  /** Highest report written; Postgres keeps the newest report whatever order they land in. */
  let reported = 0;
  const report = async () => {
    const mine = ++seq;
    // The Temporal UI's "Current Details" (read by query, not kept in the history).
    setCurrentDetails(
      held.size > 0
        ? [
            `HOLDING for a decision: \`sophon ops decide ${operationId} retry|skip|abort|rollback\`, or the \`decide\` Update.`,
            '',
            ...[...held.values()].map((h) => `- ${stepSummary(h)}: ${h.reason}`),
          ].join('\n')
        : phase
          ? `Phase: ${phase}`
          : '',
    );
    await CancellationScope.nonCancellable(() =>
      bookkeeping.reportOperationState(operationId, mine, {
        status: held.size > 0 ? 'HOLDING' : 'RUNNING',
        holding: [...held.values()],
        canRollback,
        phase,
        progress: total === null ? null : { done: 0, total },
      }),
    );
    reported = Math.max(reported, mine);
  };

  async function hold(h: HeldStep): Promise<DecisionAction> {
    const id = nextHold++;
    held.set(id, h);
    try {
      await report();
      const seen = decisions;
      await condition(() => decisions > seen);
      return lastDecision;
    } finally {
      held.delete(id);
      await report();
    }
  }

  return {
    async step(key, run, opts) {
      const fullKey = { operationId, host: key.host, role: key.role ?? '', phase: key.phase, step: key.step };
      for (;;) {
        try {
          await withSummary(stepSummary(key), run);
          return true;
        } catch (err) {
          if (isCancellation(err) || err instanceof RollbackRequested) throw err;
          const { code, message } = describeFailure(err);
          if (code === 'ABORTED') throw err;
          if (opts?.tolerate?.()) return false;
          const action = await hold({ ...fullKey, reason: message });
          if (action === 'retry') continue;
          if (action === 'skip') {
            await bookkeeping.recordSkippedStep(fullKey, `skipped by the operator after: ${message}`);
            return false;
          }
          if (action === 'rollback') throw new RollbackRequested(message);
          throw ApplicationFailure.nonRetryable(
            `Aborted by the operator at ${key.phase}/${key.step} on ${key.host}: ${message}`,
            'ABORTED',
          );
        }
      }
    },

    async forEach(items, limit, fn) {
      let first: unknown;
      const scope = new CancellationScope();
      await scope
        .run(() =>
          mapBounded(items, limit, async (item) => {
            try {
              await fn(item);
            } catch (err) {
              if (first === undefined) {
                first = err;
                scope.cancel();
              }
              throw err;
            }
          }),
        )
        .catch(() => undefined);
      if (first !== undefined) throw first;
    },

    async phase(name) {
      phase = name;
      await report();
    },

    async plan(totalSteps) {
      total = totalSteps;
      await report();
    },

    allowRollback(allowed, why) {
      canRollback = allowed;
      if (why) noRollbackReason = why;
    },
  };
}

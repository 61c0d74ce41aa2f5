import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  isCancellation,
  proxyActivities,
} from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';
import { RollbackRequested } from './rollback.js';
import type { OperationError } from '../types.js';

const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * Reads the stable code and message out of whatever failure reached the workflow, looking
 * through activity and child-workflow wrappers to the failure that says what went wrong.
 */
export function describeFailure(err: unknown): OperationError {
  for (let current: unknown = err; current instanceof Error; current = current.cause) {
    if (current instanceof ApplicationFailure) return { code: current.type ?? 'FAILED', message: current.message };
    if (!(current instanceof ActivityFailure || current instanceof ChildWorkflowFailure)) break;
  }
  return { code: 'FAILED', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Runs the body of an operation and keeps its row in Postgres in step: RUNNING when it
 * starts, then SUCCEEDED, FAILED (with code and message) or CANCELLED. When the operator
 * asks for a rollback (the engine throws RollbackRequested), `rollback` undoes the work and
 * the operation ends ROLLED_BACK. The final write runs outside cancellation so a cancelled
 * operation is still recorded as such.
 */
export async function runOperation<T>(operationId: string, body: () => Promise<T>): Promise<T>;
export async function runOperation<T>(
  operationId: string,
  body: () => Promise<T>,
  rollback: (reason: string) => Promise<unknown>,
): Promise<T | { rolledBack: unknown }>;
export async function runOperation<T>(
  operationId: string,
  body: () => Promise<T>,
  rollback?: (reason: string) => Promise<unknown>,
): Promise<T | { rolledBack: unknown }> {
  await bookkeeping.markOperationRunning(operationId);
  try {
    let result: T | { rolledBack: unknown };
    let status: 'SUCCEEDED' | 'ROLLED_BACK' = 'SUCCEEDED';
    try {
      result = await body();
    } catch (err) {
      if (!(err instanceof RollbackRequested && rollback)) throw err;
      result = { rolledBack: await rollback(err.reason) };
      status = 'ROLLED_BACK';
    }
    await bookkeeping.finishOperation(operationId, status, { result });
    return result;
  } catch (err) {
    const cancelled = isCancellation(err);
    await CancellationScope.nonCancellable(() =>
      bookkeeping.finishOperation(operationId, cancelled ? 'CANCELLED' : 'FAILED', {
        error: cancelled ? { code: 'CANCELLED', message: 'Cancelled by request' } : describeFailure(err),
      }),
    );
    throw err;
  }
}

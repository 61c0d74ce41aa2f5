/** The engine's own bookkeeping: an operation's status, its live state and the steps an operator skipped. */
import { operationsRepo, type OperationState, type OperationStatus } from '../repo.js';
import { recordSkippedStep, type StepKey } from '../steps.js';
import type { ActivityDeps } from '../../../platform/temporal/activity-deps.js';
import type { OperationError } from '../types.js';

export function createOperationActivities({ pool }: ActivityDeps) {
  const operations = operationsRepo(pool);
  return {
    async markOperationRunning(operationId: string): Promise<void> {
      await operations.markRunning(operationId);
    },
    async finishOperation(
      operationId: string,
      status: OperationStatus,
      outcome: { result?: unknown; error?: OperationError },
    ): Promise<void> {
      await operations.finish(operationId, status, outcome);
    },
    async reportOperationState(operationId: string, seq: number, state: OperationState): Promise<void> {
      await operations.reportState(operationId, seq, state);
    },
    async recordSkippedStep(key: StepKey, reason: string): Promise<void> {
      await recordSkippedStep(pool, key, reason);
    },
  };
}

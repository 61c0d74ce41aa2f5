import { operationsRepo, type OperationStatus } from '../repo.js';
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
  };
}

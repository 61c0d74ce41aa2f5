import { operationsRepo, type OperationStatus } from '../src/db/repos/operations.js';
import type { ActivityDeps } from './deps.js';
import type { OperationError } from '../workflows/shared.js';

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

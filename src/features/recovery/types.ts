import type { ServiceOperationInput } from '../services/types.js';

/** A recovery: restart one instance seen down (started by a poll). */
export interface RecoverInstanceInput extends ServiceOperationInput {
  instanceId: string;
}

/** What auto-recovery did in one poll. */
export interface RecoveryCounts {
  /** Recover operations started. */
  started: number;
  /** Instances not recovered this poll because another operation held the service (named in the poll record). */
  skipped: number;
  /** Instances whose recovery from an earlier poll still runs. */
  inProgress: number;
  /** Instances left down: their restarts in the last hour reached the budget. */
  budgetSpent: number;
}

export const recoveryWorkflowIds = {
  // Per instance and attempt, not per operation: a repeated poll cannot start a second recovery.
  recoverInstance: (cluster: string, service: string, instanceId: string, attempt: number) =>
    `recover/${cluster}/${service}/${instanceId}/${attempt}`,
};

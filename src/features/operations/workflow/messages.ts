/**
 * Messages workflows accept (Updates, Signals, Queries), shared by the workflows, the API
 * and the CLI. The Temporal UI can send them too: name and payload are part of the contract.
 */
import { defineUpdate } from '@temporalio/workflow';

export const DECISION_ACTIONS = ['retry', 'skip', 'abort', 'rollback'] as const;
export type DecisionAction = (typeof DECISION_ACTIONS)[number];

export interface Decision {
  action: DecisionAction;
}

/**
 * `decide` with `{"action": "retry" | "skip" | "abort" | "rollback"}`: the operator's answer to
 * a HOLDING operation. Its validator refuses a decision the operation is not waiting for.
 */
export const decideUpdate = defineUpdate<{ accepted: DecisionAction; steps: number }, [Decision]>('decide');

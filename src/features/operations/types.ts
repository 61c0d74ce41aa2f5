/** Types of the operation engine shared by its workflow code, activities and API. */
import type * as workflows from '../../../workflows/index.js';

/** Error codes a workflow reports when an operation fails (carried as the failure's type). */
export interface OperationError {
  code: string;
  message: string;
}

export const operationWorkflowIds = {
  // One per task queue: each Sophon installation sharing a Temporal namespace has its own.
  reconcileSchedule: (taskQueue: string) => `sophon-reconcile/${taskQueue}`,
  reconcile: (taskQueue: string) => `reconcile-operations/${taskQueue}`,
};

/** Every workflow the worker runs, by name: operation starts are checked against their inputs. */
export type Workflows = typeof workflows;
/** Workflows an operation runs: those that take an input (the periodic ones take none). */
export type WorkflowName = { [W in keyof Workflows]: Parameters<Workflows[W]> extends [object, ...unknown[]] ? W : never }[keyof Workflows];
/** The single argument a workflow takes. */
export type WorkflowInput<W extends WorkflowName> = Parameters<Workflows[W]>[0];

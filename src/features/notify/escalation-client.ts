import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { ackSignal, escalationWorkflowId, resolveSignal } from './workflow/messages.js';
import { SA_KIND } from '../../platform/temporal/search-attributes.js';

export interface Escalations {
  /** Starts the alert's chain unless one runs or has ended (idempotent). */
  start(alertId: string): Promise<void>;
  /** Call AFTER the alert row is set acknowledged: stops further steps; the policy's
   *  unackTimeoutSeconds later, if still unresolved, the workflow re-opens the alert
   *  (state back to firing, an alert_events row) and runs the chain again. */
  ack(alertId: string, actor: string, note?: string): Promise<void>;
  /** Call AFTER the alert row is set resolved: sends the resolved notice to every channel
   *  that was notified, then ends. No-op when no chain runs. */
  resolve(alertId: string, actor: string): Promise<void>;
}

/** A signal to a chain that is not running (never started, or ended) has nothing to stop. */
async function ignoreMissing(send: () => Promise<void>): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}

export function createEscalations(client: Client, taskQueue: string): Escalations {
  const handle = (alertId: string) => client.workflow.getHandle(escalationWorkflowId(alertId));
  return {
    async start(alertId) {
      try {
        await client.workflow.start('escalateAlertWorkflow', {
          taskQueue,
          workflowId: escalationWorkflowId(alertId),
          // One chain per alert: one that ended is never started again; one that failed or
          // was terminated is, while its alert still fires.
          workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
          args: [{ alertId }],
          typedSearchAttributes: [{ key: SA_KIND, value: 'escalation' }],
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
    },
    ack: (alertId, actor, note) =>
      ignoreMissing(() => handle(alertId).signal(ackSignal, { actor, ...(note === undefined ? {} : { note }) })),
    resolve: (alertId, actor) => ignoreMissing(() => handle(alertId).signal(resolveSignal, { actor })),
  };
}

import { condition, continueAsNew, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';
import type { StepResult } from '../activities.js';
import {
  ackSignal,
  progressQuery,
  resolveSignal,
  type EscalateAlertInput,
  type EscalationOutcome,
  type EscalationProgress,
} from './messages.js';

// Each channel is retried inside the activity (bounded); these retries cover Postgres and the
// worker itself. The activity skips channels it already reached in this run, so a retry never
// pages twice.
// Bounded, but long enough to ride out a Postgres restart: a chain that fails pages nobody.
const retry = { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 };
const { escalationPlan, alertState, reopenAlert } = proxyActivities<Activities>({ startToCloseTimeout: '1 minute', retry });
const { notifyEscalationStep, notifyAlertResolved } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '15 seconds',
  retry,
});

/** Waits without an end re-read the alert this often, so a lost signal cannot keep a chain forever. */
const RECHECK_MS = 60 * 60 * 1000;

/**
 * An alert's escalation chain: notify the channels of step 1, wait, step 2, ... the whole chain
 * `repeat` times. An ack stops further steps (re-opened after the policy's un-ack timeout); a
 * resolve sends resolved notices to every channel that was notified and ends the chain. The
 * alert's state in Postgres is re-checked before each step. History: ids and counts only.
 */
export async function escalateAlertWorkflow(input: EscalateAlertInput): Promise<EscalationOutcome> {
  const { alertId } = input;
  let acks = 0;
  let resolved = false;
  const progress: EscalationProgress = { phase: 'starting', round: 0, step: 0 };
  setHandler(ackSignal, () => void acks++);
  setHandler(resolveSignal, () => void (resolved = true));
  setHandler(progressQuery, () => progress);

  const since = workflowInfo().runStartTime.toISOString();
  let sent = 0;
  let failed = 0;
  const finish = async (): Promise<EscalationOutcome> => {
    progress.phase = 'resolving';
    await notifyAlertResolved({ alertId });
    return { outcome: 'resolved', sent, failed };
  };

  const plan = await escalationPlan(alertId);
  if (plan.state === 'missing') return { outcome: 'alert-missing', sent, failed };
  if (plan.waits.length === 0) return { outcome: 'no-policy', sent, failed };
  let state: StepResult['state'] = plan.state;

  if (state !== 'acknowledged' && state !== 'resolved') {
    chain: for (let round = 1; round <= plan.repeat; round++) {
      for (let step = 1; step <= plan.waits.length; step++) {
        if (resolved || acks > 0) break chain;
        Object.assign(progress, { phase: 'notifying', round, step });
        const result = await notifyEscalationStep({ alertId, round, step, since });
        sent += result.sent;
        failed += result.failed;
        state = result.state;
        if (state === 'acknowledged' || state === 'resolved' || state === 'missing') break chain;
        if (round === plan.repeat && step === plan.waits.length) break chain;
        progress.phase = 'waiting';
        const waitMs = plan.waits[step - 1]! * 1000;
        if (waitMs > 0) await condition(() => resolved || acks > 0, waitMs);
      }
    }
    // The chain is spent: nothing more to send until someone acknowledges or resolves.
    progress.phase = 'chain-done';
    while (!resolved && acks === 0 && state !== 'acknowledged' && state !== 'resolved' && state !== 'missing') {
      if (await condition(() => resolved || acks > 0, RECHECK_MS)) break;
      state = await alertState(alertId);
      if (workflowInfo().continueAsNewSuggested && state === 'firing') await continueAsNew<typeof escalateAlertWorkflow>(input);
    }
  }
  if (state === 'missing') return { outcome: 'alert-missing', sent, failed };

  // Acknowledged: quiet until resolved, or until the un-ack timeout re-opens the alert.
  progress.phase = 'acknowledged';
  while (!resolved && state !== 'resolved') {
    const seen = acks;
    const timeoutMs = plan.unackTimeoutSeconds ? plan.unackTimeoutSeconds * 1000 : RECHECK_MS;
    if (await condition(() => resolved || acks !== seen, timeoutMs)) continue; // resolved, or acked again: timer restarts
    state = plan.unackTimeoutSeconds ? await reopenAlert({ alertId }) : await alertState(alertId);
    if (state === 'missing') return { outcome: 'alert-missing', sent, failed };
    // Re-opened (by the timeout or by someone else): a fresh run starts the chain again.
    if (state === 'firing') await continueAsNew<typeof escalateAlertWorkflow>(input);
  }
  return finish();
}

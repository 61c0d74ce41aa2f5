/**
 * Activities of the escalation chain. The workflow passes the alert id and its position in
 * the chain; alert, policy, channels and secrets are read here from Postgres, and only
 * states and counts go back into the workflow's history.
 */
import { alertsRepo } from '../alerts/alerts-repo.js';
import type { AlertState } from '../alerts/lifecycle.js';
import { escalationRepo } from './escalation-repo.js';
import { notifierFrom } from './notifier.js';
import { policiesRepo } from './policies-repo.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';
import { hostActivity } from '../../platform/temporal/host-activity.js';

export interface EscalationPlan {
  state: AlertState | 'missing';
  /** waitSeconds of each step of the alert's policy; empty without a policy. */
  waits: number[];
  repeat: number;
  unackTimeoutSeconds: number | null;
}

export interface StepResult {
  state: AlertState | 'missing';
  sent: number;
  failed: number;
}

export function createNotifyActivities(deps: ActivityDeps) {
  const repo = escalationRepo(deps.pool);
  const alerts = alertsRepo(deps.pool);
  const policies = policiesRepo(deps.pool);
  const notifier = notifierFrom(deps);

  return {
    async escalationPlan(alertId: string): Promise<EscalationPlan> {
      const alert = await alerts.get(alertId);
      if (!alert) return { state: 'missing', waits: [], repeat: 0, unackTimeoutSeconds: null };
      const policy = await policies.policyOf(alertId);
      return {
        state: alert.state,
        waits: policy?.steps.map((s) => s.waitSeconds) ?? [],
        repeat: policy?.repeat ?? 0,
        unackTimeoutSeconds: policy?.unackTimeoutSeconds ?? null,
      };
    },

    async alertState(alertId: string): Promise<AlertState | 'missing'> {
      return (await alerts.get(alertId))?.state ?? 'missing';
    },

    // Deliveries heartbeat, so a worker dying mid-send has its step retried by another within seconds.
    notifyEscalationStep: (input: { alertId: string; round: number; step: number; since: string }): Promise<StepResult> =>
      hostActivity(() => notifier.notifyStep(input)),

    notifyAlertResolved: (input: { alertId: string }): Promise<{ sent: number; failed: number }> =>
      hostActivity(() => notifier.notifyResolved(input.alertId)),

    async reopenAlert(input: { alertId: string }): Promise<AlertState | 'missing'> {
      return (await repo.reopen(input.alertId, 'escalation')) ?? 'missing';
    },
  };
}

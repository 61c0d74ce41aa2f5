/** Activities of alerting: evaluating a cluster's rules after each of its polls. */
import { evaluateCluster, type EvaluationCounts } from './evaluator.js';
import { createEscalations } from '../notify/escalation-client.js';
import { mapBounded } from '../../platform/concurrency.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';

/** Chains started at once after an evaluation: many alerts firing together do not wait on each other, nor flood Temporal. */
const START_CONCURRENCY = 8;

export type { EvaluationCounts };

export function createAlertActivities({ pool, logger, config, temporal }: ActivityDeps) {
  const log = logger.child({ component: 'alerts' });
  const escalations = createEscalations(temporal, config.temporal.taskQueue);

  return {
    /**
     * Evaluates the cluster's rules and the global ones over the samples its poll stored, then
     * starts the escalation of alerts that began firing unmuted and sends resolved notices.
     * Retrying is safe: states only move forward and starting a chain twice is a no-op.
     */
    async evaluateAlerts(clusterId: string): Promise<EvaluationCounts> {
      const outcome = await evaluateCluster(pool, log, { clusterId, resolveAfter: config.monitoring.alertResolveAfterEvaluations });
      await mapBounded(outcome.escalate, START_CONCURRENCY, (id) => escalations.start(id));
      for (const id of outcome.resolved) await escalations.resolve(id, 'sophon');
      return outcome.counts;
    },
  };
}

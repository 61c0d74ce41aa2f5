import { isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';
import type { EvaluationCounts } from '../../alerts/activities.js';
import { mapBounded } from '../../../platform/concurrency.js';
import type { PollClusterInput, PollCounts, PollResult, PollTotals } from '../types.js';

const { planPoll, evaluateAlerts } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 2 },
});

// Starts a recovery per down instance (a Temporal call each): more time than planning. A retry
// finds the recoveries it started as in progress.
const { finishPoll } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 2 },
});

// A chunk that fails goes once more; failing again, the poll goes on without it (its
// instances keep what the last poll saw) and counts it.
const { pollChunk } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 2, initialInterval: '1 second' },
});

/** Chunks polled at once; each checks and scrapes its own targets concurrently. */
const CHUNKS_IN_FLIGHT = 4;

/**
 * Run by the cluster's poll schedule: status checks and scrapes of every role instance, a
 * chunk of instances per activity, then auto-recovery of the instances seen down, then one
 * evaluation of the alert rules over what it stored (the recovery budget series included).
 * The history holds chunk numbers and counts only.
 */
export async function pollClusterWorkflow(input: PollClusterInput): Promise<PollResult & { alerts: EvaluationCounts }> {
  const { chunks } = await planPoll(input.clusterId);
  const results = await mapBounded(
    Array.from({ length: chunks }, (_, i) => i),
    CHUNKS_IN_FLIGHT,
    async (chunk): Promise<PollCounts | undefined> => {
      try {
        return await pollChunk({ clusterId: input.clusterId, chunk });
      } catch (err) {
        if (isCancellation(err)) throw err;
        log.warn('poll chunk failed; the poll goes on without it', {
          clusterId: input.clusterId,
          chunk,
          error: String((err as Error).cause ?? err),
        });
        return undefined;
      }
    },
  );
  const total: PollTotals = { targets: 0, up: 0, down: 0, scrapes: 0, scrapeFailures: 0, samples: 0, chunkFailures: 0 };
  for (const r of results) {
    if (!r) total.chunkFailures++;
    else for (const k of Object.keys(r) as Array<keyof PollCounts>) total[k] += r[k];
  }
  const recovery = await finishPoll({ clusterId: input.clusterId, counts: total });
  return { ...total, recovery, alerts: await evaluateAlerts(input.clusterId) };
}

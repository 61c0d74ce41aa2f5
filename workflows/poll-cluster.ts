import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { EvaluationCounts } from '../activities/alerts.js';
import { mapBounded } from './concurrency.js';
import type { PollClusterInput, PollCounts } from './shared.js';

const { planPoll, evaluateAlerts } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 2 },
});

// A chunk that fails is not retried: the next poll comes within an interval.
const { pollChunk } = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { maximumAttempts: 1 },
});

/** Chunks polled at once; each checks and scrapes its own targets concurrently. */
const CHUNKS_IN_FLIGHT = 4;

/**
 * Run by the cluster's poll schedule: status checks and scrapes of every role instance, a
 * chunk of instances per activity, then one evaluation of the alert rules over what it
 * stored. The history holds chunk numbers and counts only.
 */
export async function pollClusterWorkflow(input: PollClusterInput): Promise<PollCounts & { alerts: EvaluationCounts }> {
  const { chunks } = await planPoll(input.clusterId);
  const results = await mapBounded(
    Array.from({ length: chunks }, (_, i) => i),
    CHUNKS_IN_FLIGHT,
    (chunk) => pollChunk({ clusterId: input.clusterId, chunk }),
  );
  const total: PollCounts = { targets: 0, up: 0, down: 0, scrapes: 0, scrapeFailures: 0, samples: 0 };
  for (const r of results) for (const k of Object.keys(total) as Array<keyof PollCounts>) total[k] += r[k];
  return { ...total, alerts: await evaluateAlerts(input.clusterId) };
}

import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';

const { probeHosts } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 2 },
});

/** Run by a schedule: marks bootstrapped hosts READY or UNREACHABLE. */
export async function hostReachabilityWorkflow(): Promise<{ ready: number; unreachable: number }> {
  return probeHosts();
}

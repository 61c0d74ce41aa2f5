import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';

const { reconcileOperations } = proxyActivities<Activities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 2 },
});

/** Run by a schedule: ends operations whose workflow ended in Temporal without recording it. */
export async function reconcileOperationsWorkflow() {
  return reconcileOperations();
}

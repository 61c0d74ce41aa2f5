import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';
import { runOperation } from '../../operations/workflow/run-operation.js';
import type { CreateClusterInput } from '../types.js';

const { createCluster } = proxyActivities<Activities>({
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 20 },
});

/** Creates a cluster: the API has reserved the name; this makes the cluster ACTIVE. */
export async function createClusterWorkflow(input: CreateClusterInput): Promise<{ clusterId: string }> {
  return runOperation(input.operationId, async () => {
    await createCluster(input);
    return { clusterId: input.clusterId };
  });
}

import {
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';
import { describeFailure, runOperation } from '../../operations/workflow/run-operation.js';
import { mapBounded } from '../../../platform/concurrency.js';
import { BOOTSTRAP_STEPS, hostWorkflowIds, type BootstrapHostInput, type BootstrapHostsInput } from '../types.js';
import { proxyHostActivities, stepSummary, withSummary } from '../../operations/workflow/step-summary.js';

/** Hosts bootstrapped at once by one operation. */
const HOST_CONCURRENCY = 20;

// Each step retries transient trouble (unreachable, timeout, lost connection) with backoff;
// definitive failures (key refused, host key changed) are non-retryable and stop at once.
// Steps heartbeat every few seconds (hostActivity), which is also how a cancellation reaches them.
const { bootstrapHostStep } = proxyHostActivities({
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 4 },
});
const { setHostStatus, operationHostIds, operationHosts } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** One host: connect and pin its key, gather facts, check prerequisites, create the install root. */
export async function bootstrapHostWorkflow(input: BootstrapHostInput): Promise<void> {
  await setHostStatus(input.hostId, 'BOOTSTRAPPING', null);
  try {
    const { hostname, ...ids } = input;
    for (const step of BOOTSTRAP_STEPS) {
      const run = () => bootstrapHostStep({ ...ids, step });
      await (hostname ? withSummary(stepSummary({ host: hostname, phase: 'bootstrap', step }), run) : run());
    }
  } catch (err) {
    // Recorded even when the bootstrap was cancelled, so the host never stays BOOTSTRAPPING.
    const reason = isCancellation(err) ? 'bootstrap cancelled by request' : describeFailure(err).message;
    await CancellationScope.nonCancellable(() => setHostStatus(input.hostId, 'FAILED', reason));
    throw err;
  }
  await setHostStatus(input.hostId, 'READY', null);
}

/** Bootstraps hosts in parallel; one host failing does not stop the others. */
export async function bootstrapHostsWorkflow(input: BootstrapHostsInput): Promise<{ ready: number }> {
  return runOperation(input.operationId, async () => {
    const parent = workflowInfo().workflowId;
    // Children are named by host name; runs started before keep the host-id names they replay.
    const hosts: Array<{ id: string; hostname?: string }> = input.hostIds
      ? input.hostIds.map((id) => ({ id }))
      : patched('bootstrap-children-by-hostname')
        ? await operationHosts(input.operationId)
        : (await operationHostIds(input.operationId)).map((id) => ({ id }));
    const outcomes = await mapBounded(hosts, HOST_CONCURRENCY, async ({ id: hostId, hostname }) => {
      try {
        await executeChild(bootstrapHostWorkflow, {
          workflowId: hostWorkflowIds.bootstrapHost(parent, hostname ?? hostId),
          args: [{ operationId: input.operationId, hostId, ...(hostname ? { hostname } : {}) }],
          ...(hostname ? { staticSummary: `bootstrap ${hostname} in ${input.cluster}` } : {}),
          // Per-host runs show up under the same cluster filter in the Temporal UI.
          typedSearchAttributes: workflowInfo().typedSearchAttributes,
        });
        return undefined;
      } catch (err) {
        if (isCancellation(err)) throw err;
        return describeFailure(err).message;
      }
    });
    const failures = outcomes.filter((o): o is string => o !== undefined);
    if (failures.length > 0) {
      throw ApplicationFailure.nonRetryable(`${failures.length} of ${hosts.length} hosts failed: ${failures.join('; ')}`, 'HOSTS_FAILED');
    }
    return { ready: hosts.length };
  });
}

import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleHandle, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../settings.js';
import { hostWorkflowIds } from '../../features/hosts/types.js';
import { operationWorkflowIds } from '../../features/operations/types.js';
import { monitoringWorkflowIds, type PollClusterInput } from '../../features/monitoring/types.js';
import { SA_KIND } from './search-attributes.js';

interface ScheduleSpec {
  scheduleId: string;
  everySeconds: number;
  workflowType: string;
  workflowId: string;
  args: unknown[];
  /** The runs' one line in the Temporal UI. */
  summary: string;
}

/** Sophon's periodic workflows: one schedule each, per task queue. */
function schedules(config: Config): ScheduleSpec[] {
  const queue = config.temporal.taskQueue;
  return [
    {
      scheduleId: hostWorkflowIds.hostReachabilitySchedule(queue),
      everySeconds: config.hostCheckIntervalSeconds,
      workflowType: 'hostReachabilityWorkflow',
      workflowId: hostWorkflowIds.hostReachability(queue),
      args: [],
      summary: `host reachability check, every ${config.hostCheckIntervalSeconds} s`,
    },
    {
      scheduleId: operationWorkflowIds.reconcileSchedule(queue),
      everySeconds: config.reconcileIntervalSeconds,
      workflowType: 'reconcileOperationsWorkflow',
      workflowId: operationWorkflowIds.reconcile(queue),
      args: [],
      summary: `reconcile operations with their workflow runs, every ${config.reconcileIntervalSeconds} s`,
    },
  ];
}

/**
 * Creates a Temporal Schedule, or brings an existing one up to date: `update` gets the schedule
 * as it is and says what it becomes (what follows `options` is the caller's choice).
 */
export async function ensureSchedule(
  client: Client,
  options: ScheduleOptions,
  update: Parameters<ScheduleHandle['update']>[0],
): Promise<void> {
  try {
    await client.schedule.create(options);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(options.scheduleId).update(update);
  }
}

/** Creates a periodic schedule, or brings an existing one to the given interval and action. */
async function ensurePeriodic(client: Client, config: Config, s: ScheduleSpec): Promise<void> {
  const spec = { intervals: [{ every: `${s.everySeconds}s` }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: s.workflowType,
    workflowId: s.workflowId,
    taskQueue: config.temporal.taskQueue,
    args: s.args,
    staticSummary: s.summary,
    // Filtering on SophonKind keeps these frequent runs apart from operations in the Temporal UI.
    typedSearchAttributes: [{ key: SA_KIND, value: 'periodic' }],
  };
  await ensureSchedule(
    client,
    // A slow round must not pile up behind itself.
    { scheduleId: s.scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } },
    (previous) => ({ ...previous, spec, action }),
  );
}

/**
 * Creates Sophon's schedules, or brings existing ones to the configured intervals.
 * Safe to run from every API process at every start.
 */
export async function ensureSchedules(client: Client, config: Config): Promise<void> {
  for (const s of schedules(config)) await ensurePeriodic(client, config, s);
}

/** The poll schedule of a cluster (status checks and scrapes), created or updated; idempotent. */
export async function ensurePollSchedule(client: Client, config: Config, clusterId: string, clusterName: string): Promise<void> {
  const queue = config.temporal.taskQueue;
  const input: PollClusterInput = { clusterId };
  await ensurePeriodic(client, config, {
    scheduleId: monitoringWorkflowIds.pollSchedule(queue, clusterId),
    everySeconds: config.monitoring.pollIntervalSeconds,
    workflowType: 'pollClusterWorkflow',
    workflowId: monitoringWorkflowIds.pollCluster(queue, clusterId),
    args: [input],
    summary: `poll cluster ${clusterName}: status checks, scrapes, recovery and alert rules, every ${config.monitoring.pollIntervalSeconds} s`,
  });
}

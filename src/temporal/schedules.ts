import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { workflowIds } from '../../workflows/shared.js';

/**
 * Creates Sophon's schedules, or brings an existing one to the configured interval.
 * Safe to run from every API process at every start.
 */
export async function ensureSchedules(client: Client, config: Config): Promise<void> {
  const scheduleId = workflowIds.hostReachabilitySchedule(config.temporal.taskQueue);
  const spec = { intervals: [{ every: `${config.hostCheckIntervalSeconds}s` }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'hostReachabilityWorkflow',
    workflowId: workflowIds.hostReachability(config.temporal.taskQueue),
    taskQueue: config.temporal.taskQueue,
    args: [],
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      // A slow round must not pile up behind itself.
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
  }
}

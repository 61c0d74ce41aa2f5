import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../config.js';
import { workflowIds } from '../../workflows/shared.js';

/** Sophon's periodic workflows: one schedule each, per task queue. */
function schedules(config: Config) {
  const queue = config.temporal.taskQueue;
  return [
    {
      scheduleId: workflowIds.hostReachabilitySchedule(queue),
      everySeconds: config.hostCheckIntervalSeconds,
      workflowType: 'hostReachabilityWorkflow',
      workflowId: workflowIds.hostReachability(queue),
    },
    {
      scheduleId: workflowIds.reconcileSchedule(queue),
      everySeconds: config.reconcileIntervalSeconds,
      workflowType: 'reconcileOperationsWorkflow',
      workflowId: workflowIds.reconcile(queue),
    },
  ];
}

/**
 * Creates Sophon's schedules, or brings existing ones to the configured intervals.
 * Safe to run from every API process at every start.
 */
export async function ensureSchedules(client: Client, config: Config): Promise<void> {
  for (const s of schedules(config)) {
    const spec = { intervals: [{ every: `${s.everySeconds}s` }] };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: s.workflowType,
      workflowId: s.workflowId,
      taskQueue: config.temporal.taskQueue,
      args: [],
    };
    try {
      await client.schedule.create({
        scheduleId: s.scheduleId,
        spec,
        action,
        // A slow round must not pile up behind itself.
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
      });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(s.scheduleId).update((previous) => ({ ...previous, spec, action }));
    }
  }
}

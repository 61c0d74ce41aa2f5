/**
 * One run of a maintenance schedule, started by its Temporal Schedule: starts the schedule's
 * operation through the API's start path (lock, operation row, workflow) and waits for it
 * to end, so the run's result in Temporal is the operation's outcome. A busy service makes
 * the run SKIPPED (recorded with the operation in the way); it never queues.
 */
import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../../../../activities/index.js';
import type { StartedRun } from '../activities.js';
import type { MaintenanceRunInput, MaintenanceRunResult } from '../types.js';

const starter = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

const watcher = proxyActivities<Activities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** Watch slices per run before the history starts afresh (an operation may hold for days). */
const SLICES_PER_RUN = 100;

export async function maintenanceRunWorkflow(
  input: MaintenanceRunInput & { started?: StartedRun; workflowId?: string },
): Promise<MaintenanceRunResult> {
  // Continued runs keep the first run's id: that is the run's key in Postgres.
  const workflowId = input.workflowId ?? workflowInfo().workflowId;
  const started = input.started ?? (await starter.startMaintenanceRun({ scheduleId: input.scheduleId, workflowId }));
  if (started.status !== 'STARTED' || !started.operationId)
    return { operationId: started.operationId, status: started.status, reason: started.reason };
  for (let slice = 0; slice < SLICES_PER_RUN; slice++) {
    const watched = await watcher.awaitMaintenanceRun({
      scheduleId: input.scheduleId,
      workflowId,
      operationId: started.operationId,
      ...(started.previousUntil ? { previousUntil: started.previousUntil } : {}),
    });
    if (watched.done && watched.result) return watched.result;
  }
  return continueAsNew<typeof maintenanceRunWorkflow>({ scheduleId: input.scheduleId, started, workflowId });
}

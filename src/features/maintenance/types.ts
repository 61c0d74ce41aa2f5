/** Input of a maintenance schedule's run: the schedule's id; its action comes from Postgres. */
export interface MaintenanceRunInput {
  scheduleId: string;
}

/** What a run did: the operation it started (or the one that kept it from starting), and how it ended. */
export interface MaintenanceRunResult {
  operationId: string | null;
  status: string;
  reason: string | null;
}

export const maintenanceWorkflowIds = {
  // Temporal appends each firing's time to the workflow id of a schedule's action.
  maintenanceSchedulePrefix: (taskQueue: string) => `sophon-maintenance/${taskQueue}/`,
  maintenanceSchedule: (taskQueue: string, scheduleId: string) => `sophon-maintenance/${taskQueue}/${scheduleId}`,
  maintenanceRun: (taskQueue: string, scheduleId: string) => `maintenance-run/${taskQueue}/${scheduleId}`,
};

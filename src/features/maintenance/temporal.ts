/**
 * The Temporal Schedules behind maintenance schedules: one per schedule, on this task queue,
 * whose action starts `maintenanceRunWorkflow`. Runs may overlap in Temporal (ALLOW_ALL): a
 * run that finds the service busy records itself SKIPPED, naming the operation in the way,
 * instead of Temporal dropping it silently.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import type { Config } from '../../platform/settings.js';
import type { Logger } from '../../platform/log.js';
import type { Pool } from '../../platform/db/pool.js';
import { ensureSchedule } from '../../platform/temporal/schedules.js';
import { SA_CLUSTER, SA_KIND, SA_OPERATION_TYPE, SA_SERVICE } from '../../platform/temporal/search-attributes.js';
import { maintenanceWorkflowIds, type MaintenanceRunInput } from './types.js';
import { maintenanceRepo, type ScheduleRow } from './maintenance-repo.js';
import { temporalSpec } from './spec.js';

export const scheduleIdOf = (config: Config, row: Pick<ScheduleRow, 'id'>) =>
  maintenanceWorkflowIds.maintenanceSchedule(config.temporal.taskQueue, row.id);

function options(config: Config, row: ScheduleRow): ScheduleOptions {
  const input: MaintenanceRunInput = { scheduleId: row.id };
  return {
    scheduleId: scheduleIdOf(config, row),
    spec: temporalSpec(row.spec),
    action: {
      type: 'startWorkflow',
      workflowType: 'maintenanceRunWorkflow',
      workflowId: maintenanceWorkflowIds.maintenanceRun(config.temporal.taskQueue, row.id),
      taskQueue: config.temporal.taskQueue,
      args: [input],
      staticSummary: `maintenance schedule ${row.name}: ${row.action.kind} ${row.service} on ${row.clusterName}`,
      typedSearchAttributes: [
        { key: SA_KIND, value: 'periodic' },
        { key: SA_OPERATION_TYPE, value: 'maintenance.run' },
        { key: SA_CLUSTER, value: row.clusterName },
        { key: SA_SERVICE, value: row.service },
      ],
    },
    // A run missed while Temporal was down runs once on its return, not once per missed firing.
    policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1 minute' },
    state: { paused: row.paused, note: `maintenance schedule ${row.name}` },
  };
}

/** Creates the schedule's Temporal Schedule, or brings an existing one to the row (spec, action, paused). */
export async function ensureTemporalSchedule(client: Client, config: Config, row: ScheduleRow): Promise<void> {
  const o = options(config, row);
  await ensureSchedule(client, o, (prev) => ({
    ...prev,
    spec: o.spec,
    action: o.action,
    policies: o.policies,
    state: { ...prev.state, paused: row.paused },
  }));
}

export async function deleteTemporalSchedule(client: Client, config: Config, row: Pick<ScheduleRow, 'id'>): Promise<void> {
  await client.schedule
    .getHandle(scheduleIdOf(config, row))
    .delete()
    .catch((err: unknown) => {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
    });
}

/**
 * Start-up reconciliation, both ways: a schedule in Postgres without its Temporal Schedule gets
 * one; a Temporal Schedule of this task queue without a row is deleted; a pause or resume done
 * in the Temporal UI is written back to Postgres; spec and action follow Postgres.
 */
export async function reconcileMaintenanceSchedules(client: Client, config: Config, pool: Pool, logger: Logger): Promise<void> {
  const repo = maintenanceRepo(pool);
  const rows = new Map((await repo.list()).map((r) => [scheduleIdOf(config, r), r]));
  const prefix = maintenanceWorkflowIds.maintenanceSchedulePrefix(config.temporal.taskQueue);
  const inTemporal = new Set<string>();
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(prefix)) continue;
    inTemporal.add(s.scheduleId);
    const row = rows.get(s.scheduleId);
    if (!row) {
      await client.schedule
        .getHandle(s.scheduleId)
        .delete()
        .catch(() => undefined);
      logger.info({ scheduleId: s.scheduleId }, 'deleted a Temporal Schedule whose maintenance schedule no longer exists');
      continue;
    }
    if (s.state.paused !== row.paused) {
      await repo.setPaused(row.id, s.state.paused);
      row.paused = s.state.paused;
    }
    await ensureTemporalSchedule(client, config, row);
  }
  for (const [scheduleId, row] of rows) {
    if (inTemporal.has(scheduleId)) continue;
    await ensureTemporalSchedule(client, config, row);
    logger.info({ scheduleId, name: row.name }, 'created the missing Temporal Schedule of a maintenance schedule');
  }
}

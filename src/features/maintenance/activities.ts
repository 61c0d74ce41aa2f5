/**
 * Activities of maintenance schedule runs: start the schedule's operation through the API's
 * start path and record the run; then watch the operation to its end, keeping the
 * schedule's maintenance window open while it runs.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { operationsRepo } from '../operations/repo.js';
import { maintenanceRepo, type MaintenanceEnds, type ScheduleRow } from './maintenance-repo.js';
import { createActionStarter } from './runner.js';
import { createOperationsService } from '../operations/service.js';
import type { MaintenanceRunResult } from './types.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';
import { HEARTBEAT_EVERY_MS } from '../../platform/temporal/host-activity.js';

/** While a run lasts its window is renewed this far past the window's own length (a lease: a dead Sophon lets it lapse). */
const LEASE_MARGIN_SECONDS = 15;
const POLL_MS = 2000;
/** One watch activity lasts at most this long; the workflow calls it again, so a HOLDING operation never hits a timeout. */
const WATCH_SLICE_MS = 10 * 60_000;

export interface RunRef {
  scheduleId: string;
  workflowId: string;
}

export interface StartedRun extends MaintenanceRunResult {
  /** Maintenance ends that were set before the run: its window ends no earlier than these. */
  previousUntil?: MaintenanceEnds;
}

const windowHosts = (s: ScheduleRow) => ('hosts' in s.action && s.action.hosts ? s.action.hosts : []);

export function createMaintenanceActivities(deps: ActivityDeps) {
  const { pool, catalog, config, temporal, logger } = deps;
  const repo = maintenanceRepo(pool);
  const startRun = createActionStarter({ pool, catalog, config, operations: createOperationsService({ config, pool, temporal, logger }) });

  return {
    /** Starts the run's operation once (a retry finds the recorded run) and opens the maintenance window. */
    async startMaintenanceRun(ref: RunRef): Promise<StartedRun> {
      const s = await repo.find(ref.scheduleId);
      if (!s) return { operationId: null, status: 'FAILED', reason: 'the schedule was deleted' };
      const recorded = await repo.run(s.id, ref.workflowId);
      if (recorded) return { operationId: recorded.operationId, status: recorded.runStatus, reason: recorded.reason };
      const previousUntil = s.windowSeconds === null ? undefined : await repo.maintenanceEnds(s.clusterId, s.service, windowHosts(s));
      if (s.windowSeconds !== null)
        await repo.extendMaintenance(s.clusterId, s.service, windowHosts(s), s.windowSeconds + LEASE_MARGIN_SECONDS);
      const started = await startRun(s, ref.workflowId);
      const run = await repo.recordRun({
        id: randomUUID(),
        scheduleId: s.id,
        workflowId: ref.workflowId,
        operationId: started.operationId,
        status: started.status,
        reason: started.status === 'STARTED' ? null : started.reason,
      });
      logger.info({ schedule: s.name, operationId: run.operationId, status: run.status }, 'maintenance run');
      if (started.status !== 'STARTED' && previousUntil)
        await repo.extendMaintenance(s.clusterId, s.service, windowHosts(s), 0, previousUntil);
      return { operationId: run.operationId, status: run.runStatus, reason: run.reason, ...(previousUntil ? { previousUntil } : {}) };
    },

    /**
     * Watches the run's operation until it ends (or for one slice), renewing the window;
     * at the end the window closes `durationSeconds` later.
     */
    async awaitMaintenanceRun(
      input: RunRef & { operationId: string; previousUntil?: MaintenanceEnds },
    ): Promise<{ done: boolean; result?: MaintenanceRunResult }> {
      const ctx = Context.current();
      const s = await repo.find(input.scheduleId);
      const sliceEnd = Date.now() + WATCH_SLICE_MS;
      let lastBeat = 0;
      for (;;) {
        const op = await operationsRepo(pool).get(input.operationId);
        if (!op || op.finishedAt) {
          if (s?.windowSeconds != null && input.previousUntil)
            await repo.extendMaintenance(s.clusterId, s.service, windowHosts(s), s.windowSeconds, input.previousUntil);
          return {
            done: true,
            result: { operationId: input.operationId, status: op?.status ?? 'UNKNOWN', reason: op?.error?.message ?? null },
          };
        }
        if (s?.windowSeconds != null)
          await repo.extendMaintenance(s.clusterId, s.service, windowHosts(s), s.windowSeconds + LEASE_MARGIN_SECONDS);
        if (Date.now() > sliceEnd) return { done: false };
        if (Date.now() - lastBeat >= HEARTBEAT_EVERY_MS) {
          ctx.heartbeat({ status: op.status });
          lastBeat = Date.now();
        }
        await ctx.sleep(POLL_MS);
      }
    },
  };
}

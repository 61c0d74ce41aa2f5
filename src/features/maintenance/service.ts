/**
 * Maintenance schedules, behind the routes. Postgres keeps their definitions (so they can be
 * listed while Temporal is down); each change is written to Postgres and to its Temporal
 * Schedule together: when Temporal does not answer, nothing changes and the answer is a 503
 * naming Temporal.
 */
import { randomUUID } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { Config } from '../../platform/settings.js';
import { inTransaction, type Pool } from '../../platform/db/pool.js';
import { auditRepo } from '../audit/repo.js';
import { parameterProblem, taskOf, type Catalog } from '../defs/index.js';
import { conflict, notFound, SophonError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { findCluster } from '../clusters/repo.js';
import { findService } from '../services/service.js';
import { temporalCalls } from '../../platform/temporal/client.js';
import { checkTaskRequest } from '../tasks/service.js';
import { maintenanceRepo, type RunRow, type ScheduleRow } from './maintenance-repo.js';
import type { ScheduleAction, ScheduleSpec, ScheduleWindow } from './schemas.js';
import { checkSpec, scheduleInvalid } from './spec.js';
import { deleteTemporalSchedule, ensureTemporalSchedule, scheduleIdOf } from './temporal.js';

/** Runs listed with each schedule. */
const RECENT_RUNS = 10;

export interface CreateSchedule {
  name: string;
  cluster: string;
  spec: ScheduleSpec;
  action: ScheduleAction;
  paused?: boolean | undefined;
  window?: ScheduleWindow | undefined;
}

export interface PatchSchedule {
  paused?: boolean | undefined;
  spec?: ScheduleSpec | undefined;
  action?: ScheduleAction | undefined;
  window?: ScheduleWindow | null | undefined;
}

export type MaintenanceService = ReturnType<typeof createMaintenanceService>;

export function createMaintenanceService({
  config,
  pool,
  temporal,
  catalog,
  logger,
}: {
  config: Config;
  pool: Pool;
  temporal: Client;
  catalog: Catalog;
  logger: Logger;
}) {
  const { withDeadline, temporalUnavailable } = temporalCalls(temporal, config.api.dependencyTimeoutMs);

  /** Checks the action against the cluster's service and its definition; every problem is a 422 at `action.…`. */
  async function checkAction(clusterId: string, action: ScheduleAction): Promise<void> {
    try {
      const { svc } = await findService(pool, clusterId, action.service).catch((err: unknown) => {
        if (err instanceof SophonError && err.code === 'NOT_FOUND')
          throw scheduleInvalid([{ path: 'action.service', message: `no service '${action.service}' is deployed in the cluster` }]);
        throw err;
      });
      const def = catalog.get(svc.name);
      if (action.kind === 'task') {
        const task = taskOf(def, action.task);
        if (!task) {
          throw scheduleInvalid([
            {
              path: 'action.task',
              message: `${def.name} has no task '${action.task}'; its tasks are ${def.tasks.map((t) => t.name).join(', ') || 'none'}`,
            },
          ]);
        }
        await checkTaskRequest(pool, def, svc, task, action, 'action.');
      } else if (action.kind === 'restart') {
        action.roles?.forEach((r, i) => {
          if (!def.roles.some((d) => d.name === r))
            throw scheduleInvalid([{ path: `action.roles.${i}`, message: `${def.name} has no role '${r}'` }]);
        });
      } else if (action.kind === 'upgrade') {
        if (!def.versions.some((v) => v.version === action.version)) {
          throw scheduleInvalid([
            {
              path: 'action.version',
              message: `${def.name} has no version '${action.version}'; known: ${def.versions.map((v) => v.version).join(', ')}`,
            },
          ]);
        }
      } else {
        const errors = Object.entries(action.values).flatMap(([name, value]) => {
          const param = def.parameters.find((p) => p.name === name);
          const problem = param ? parameterProblem(param, value) : `${def.name} has no parameter '${name}'`;
          return problem ? [{ path: `action.values.${name}`, message: problem }] : [];
        });
        if (errors.length) throw scheduleInvalid(errors);
      }
    } catch (err) {
      // Lookups of the request's parts answer 400 elsewhere; in a schedule they are all 422.
      if (err instanceof SophonError && err.code === 'VALIDATION_FAILED') throw scheduleInvalid(err.errors);
      throw err;
    }
  }

  async function view(row: ScheduleRow, runs: RunRow[]) {
    let nextRunAt: Date | null = null;
    try {
      const d = await withDeadline(() => temporal.schedule.getHandle(scheduleIdOf(config, row)).describe());
      nextRunAt = d.info.nextActionTimes[0] ?? null;
    } catch (err) {
      // Listing works without Temporal; only the next run time is unknown then.
      logger.debug({ err, schedule: row.name }, 'no next run time from Temporal');
    }
    return {
      id: row.id,
      name: row.name,
      cluster: row.clusterName,
      spec: row.spec,
      action: row.action,
      paused: row.paused,
      window: row.windowSeconds === null ? null : { durationSeconds: row.windowSeconds },
      temporalScheduleId: scheduleIdOf(config, row),
      nextRunAt,
      recentRuns: runs.map((r) => ({ at: r.at, operationId: r.operationId, status: r.status, reason: r.reason, workflowId: r.workflowId })),
      createdBy: row.createdBy,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    };
  }

  async function scheduleOf(idOrName: string): Promise<ScheduleRow> {
    const row = await maintenanceRepo(pool).find(idOrName);
    if (!row) throw notFound('Maintenance schedule', idOrName);
    return row;
  }

  async function one(row: ScheduleRow) {
    return view(row, (await maintenanceRepo(pool).recentRuns([row.id], RECENT_RUNS)).get(row.id) ?? []);
  }

  return {
    async create(req: CreateSchedule, actor: string) {
      checkSpec(req.spec);
      const cluster = await findCluster(pool, req.cluster).catch((err: unknown) => {
        if (err instanceof SophonError && err.code === 'NOT_FOUND')
          throw scheduleInvalid([{ path: 'cluster', message: `no cluster '${req.cluster}'` }]);
        throw err;
      });
      await checkAction(cluster.id, req.action);
      const id = randomUUID();
      await inTransaction(pool, async (tx) => {
        const inserted = await maintenanceRepo(tx).insert({
          id,
          name: req.name,
          clusterId: cluster.id,
          service: req.action.service,
          spec: req.spec,
          action: req.action,
          paused: req.paused ?? false,
          windowSeconds: req.window?.durationSeconds ?? null,
          createdBy: actor,
        });
        if (!inserted) throw conflict(`A maintenance schedule named '${req.name}' exists already; choose another name or change that one`);
        const row = (await maintenanceRepo(tx).find(id))!;
        await auditRepo(tx).record({
          actor,
          action: 'maintenance-schedule.create',
          target: req.name,
          details: { id, spec: req.spec, action: req.action },
        });
        // Committed only once Temporal has the schedule: no definition without its runs.
        await withDeadline(() => ensureTemporalSchedule(temporal, config, row)).catch((err: unknown) => {
          throw temporalUnavailable(err, 'the schedule was not created; try again');
        });
      });
      return one(await scheduleOf(id));
    },

    async list() {
      const rows = await maintenanceRepo(pool).list();
      const runs = await maintenanceRepo(pool).recentRuns(
        rows.map((r) => r.id),
        RECENT_RUNS,
      );
      return Promise.all(rows.map((r) => view(r, runs.get(r.id) ?? [])));
    },

    async get(idOrName: string) {
      return one(await scheduleOf(idOrName));
    },

    async patch(idOrName: string, patch: PatchSchedule, actor: string) {
      if (patch.spec) checkSpec(patch.spec);
      const found = await scheduleOf(idOrName);
      if (patch.action) await checkAction(found.clusterId, patch.action);
      await inTransaction(pool, async (tx) => {
        const row = (await maintenanceRepo(tx).find(found.id, { lock: true }))!;
        const next: ScheduleRow = {
          ...row,
          spec: patch.spec ?? row.spec,
          action: patch.action ?? row.action,
          service: (patch.action ?? row.action).service,
          paused: patch.paused ?? row.paused,
          windowSeconds: patch.window === undefined ? row.windowSeconds : (patch.window?.durationSeconds ?? null),
        };
        await maintenanceRepo(tx).update(row.id, next);
        await auditRepo(tx).record({ actor, action: 'maintenance-schedule.update', target: row.name, details: { id: row.id, ...patch } });
        await withDeadline(() => ensureTemporalSchedule(temporal, config, next)).catch((err: unknown) => {
          throw temporalUnavailable(err, 'the schedule was not changed; try again');
        });
      });
      return one(await scheduleOf(found.id));
    },

    async remove(idOrName: string, actor: string) {
      const row = await scheduleOf(idOrName);
      await withDeadline(() => deleteTemporalSchedule(temporal, config, row)).catch((err: unknown) => {
        throw temporalUnavailable(err, 'the schedule was not deleted; try again');
      });
      await inTransaction(pool, async (tx) => {
        await maintenanceRepo(tx).remove(row.id);
        await auditRepo(tx).record({ actor, action: 'maintenance-schedule.delete', target: row.name, details: { id: row.id } });
      });
    },

    /** A run now, besides the planned ones (also while paused); it shows up in recentRuns. */
    async trigger(idOrName: string, actor: string) {
      const row = await scheduleOf(idOrName);
      try {
        await withDeadline(() => temporal.schedule.getHandle(scheduleIdOf(config, row)).trigger(ScheduleOverlapPolicy.ALLOW_ALL));
      } catch (err) {
        if (err instanceof ScheduleNotFoundError)
          throw conflict(`Schedule ${row.name} has no Temporal Schedule; restart the API to recreate it`);
        throw temporalUnavailable(err, 'no run was started; try again');
      }
      await auditRepo(pool).record({ actor, action: 'maintenance-schedule.trigger', target: row.name, details: { id: row.id } });
      return one(row);
    },
  };
}

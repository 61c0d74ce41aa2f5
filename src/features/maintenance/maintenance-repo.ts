/** Maintenance schedules, their runs, and the maintenance end times they set, in Postgres. */
import { isUuid, type Pool, type PoolClient } from '../../platform/db/pool.js';
import type { ScheduleAction, ScheduleSpec } from './schemas.js';

type Db = Pool | PoolClient;

export interface ScheduleRow {
  id: string;
  name: string;
  clusterId: string;
  clusterName: string;
  service: string;
  spec: ScheduleSpec;
  action: ScheduleAction;
  paused: boolean;
  windowSeconds: number | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Maintenance ends (ISO 8601, null for none) of a service and of hosts by hostname. */
export interface MaintenanceEnds {
  service: string | null;
  hosts: Record<string, string | null>;
}

export interface RunRow {
  id: string;
  scheduleId: string;
  workflowId: string;
  at: Date;
  operationId: string | null;
  /** SKIPPED, FAILED, or the status of the run's operation. */
  status: string;
  /** What the run itself did: STARTED its operation, SKIPPED or FAILED. */
  runStatus: 'STARTED' | 'SKIPPED' | 'FAILED';
  reason: string | null;
}

const SELECT = `SELECT s.id, s.name, s.cluster_id AS "clusterId", c.name AS "clusterName", s.service, s.spec, s.action, s.paused,
  s.window_seconds AS "windowSeconds", s.created_by AS "createdBy", s.created_at AS "createdAt", s.updated_at AS "updatedAt"
  FROM maintenance_schedules s JOIN clusters c ON c.id = s.cluster_id`;

const RUN_SELECT = `SELECT r.id, r.schedule_id AS "scheduleId", r.workflow_id AS "workflowId", r.at, r.operation_id AS "operationId",
  CASE WHEN r.status = 'STARTED' THEN coalesce(o.status, 'STARTED') ELSE r.status END AS status, r.status AS "runStatus",
  coalesce(r.reason, o.error->>'message') AS reason
  FROM maintenance_runs r LEFT JOIN operations o ON o.id = r.operation_id`;

export function maintenanceRepo(db: Db) {
  return {
    async insert(s: Omit<ScheduleRow, 'clusterName' | 'createdAt' | 'updatedAt'>): Promise<boolean> {
      const res = await db.query(
        `INSERT INTO maintenance_schedules (id, name, cluster_id, service, spec, action, paused, window_seconds, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (name) DO NOTHING`,
        [s.id, s.name, s.clusterId, s.service, JSON.stringify(s.spec), JSON.stringify(s.action), s.paused, s.windowSeconds, s.createdBy],
      );
      return res.rowCount === 1;
    },

    async list(): Promise<ScheduleRow[]> {
      return (await db.query<ScheduleRow>(`${SELECT} ORDER BY s.name`)).rows;
    },

    /** By id or name; `lock` takes the row for an update. */
    async find(idOrName: string, opts: { lock?: boolean } = {}): Promise<ScheduleRow | undefined> {
      const by = isUuid(idOrName) ? 's.id = $1' : 's.name = $1';
      return (await db.query<ScheduleRow>(`${SELECT} WHERE ${by}${opts.lock ? ' FOR UPDATE OF s' : ''}`, [idOrName])).rows[0];
    },

    async update(
      id: string,
      patch: { spec: ScheduleSpec; action: ScheduleAction; paused: boolean; windowSeconds: number | null },
    ): Promise<void> {
      await db.query(
        `UPDATE maintenance_schedules SET spec = $2, action = $3, paused = $4, window_seconds = $5, service = $6, updated_at = now() WHERE id = $1`,
        [id, JSON.stringify(patch.spec), JSON.stringify(patch.action), patch.paused, patch.windowSeconds, patch.action.service],
      );
    },

    async setPaused(id: string, paused: boolean): Promise<void> {
      await db.query(`UPDATE maintenance_schedules SET paused = $2, updated_at = now() WHERE id = $1`, [id, paused]);
    },

    async remove(id: string): Promise<void> {
      await db.query(`DELETE FROM maintenance_schedules WHERE id = $1`, [id]);
    },

    /** Records a run once per workflow: a retried activity gets the first row back. */
    async recordRun(r: {
      id: string;
      scheduleId: string;
      workflowId: string;
      operationId: string | null;
      status: 'STARTED' | 'SKIPPED' | 'FAILED';
      reason: string | null;
    }): Promise<RunRow> {
      await db.query(
        `INSERT INTO maintenance_runs (id, schedule_id, workflow_id, operation_id, status, reason) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (schedule_id, workflow_id) DO NOTHING`,
        [r.id, r.scheduleId, r.workflowId, r.operationId, r.status, r.reason],
      );
      return (await db.query<RunRow>(`${RUN_SELECT} WHERE r.schedule_id = $1 AND r.workflow_id = $2`, [r.scheduleId, r.workflowId]))
        .rows[0]!;
    },

    async run(scheduleId: string, workflowId: string): Promise<RunRow | undefined> {
      return (await db.query<RunRow>(`${RUN_SELECT} WHERE r.schedule_id = $1 AND r.workflow_id = $2`, [scheduleId, workflowId])).rows[0];
    },

    /** The newest `limit` runs of each schedule given. */
    async recentRuns(scheduleIds: string[], limit: number): Promise<Map<string, RunRow[]>> {
      const rows = (
        await db.query<RunRow>(
          `SELECT * FROM (SELECT x.*, row_number() OVER (PARTITION BY x."scheduleId" ORDER BY x.at DESC) AS n FROM (${RUN_SELECT} WHERE r.schedule_id = ANY($1::uuid[])) x) y
           WHERE n <= $2 ORDER BY at DESC`,
          [scheduleIds, limit],
        )
      ).rows;
      const out = new Map<string, RunRow[]>();
      for (const { n: _n, ...r } of rows as Array<RunRow & { n: string }>)
        (out.get(r.scheduleId) ?? out.set(r.scheduleId, []).get(r.scheduleId)!).push(r);
      return out;
    },

    /** The maintenance ends of a service and some of its hosts (hosts not in the cluster are left out). */
    async maintenanceEnds(clusterId: string, service: string, hosts: string[]): Promise<MaintenanceEnds> {
      const svc = await db.query<{ until: Date | null }>(
        `SELECT maintenance_until AS until FROM services WHERE cluster_id = $1 AND name = $2`,
        [clusterId, service],
      );
      const rows = await db.query<{ hostname: string; until: Date | null }>(
        `SELECT hostname, maintenance_until AS until FROM hosts WHERE cluster_id = $1 AND hostname = ANY($2::text[])`,
        [clusterId, hosts],
      );
      return {
        service: svc.rows[0]?.until?.toISOString() ?? null,
        hosts: Object.fromEntries(rows.rows.map((h) => [h.hostname, h.until?.toISOString() ?? null])),
      };
    },

    /**
     * Keeps a service (and some of its hosts) in maintenance until at least `seconds` from
     * now; never shortens a later end set by hand or by another run. With `remembered` (the
     * ends before a run) the ends become those instead when later: the run's window closes.
     */
    async extendMaintenance(
      clusterId: string,
      service: string,
      hosts: string[],
      seconds: number,
      remembered?: MaintenanceEnds,
    ): Promise<void> {
      const remember = remembered !== undefined;
      await db.query(
        `UPDATE services SET maintenance_until = GREATEST(CASE WHEN $3 THEN $4::timestamptz ELSE maintenance_until END, now() + make_interval(secs => $5))
         WHERE cluster_id = $1 AND name = $2`,
        [clusterId, service, remember, remembered?.service ?? null, seconds],
      );
      if (hosts.length) {
        await db.query(
          `UPDATE hosts h SET maintenance_until = GREATEST(CASE WHEN $4 THEN e.until ELSE h.maintenance_until END, now() + make_interval(secs => $5))
           FROM unnest($2::text[], $3::timestamptz[]) AS e(hostname, until) WHERE h.cluster_id = $1 AND h.hostname = e.hostname`,
          [clusterId, hosts, hosts.map((h) => remembered?.hosts[h] ?? null), remember, seconds],
        );
      }
    },
  };
}

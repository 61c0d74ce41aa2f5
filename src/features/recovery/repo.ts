/** What auto-recovery reads and writes in Postgres: down instances with their budget, and the cluster's last poll. */
import type { Pool, PoolClient } from '../../platform/db/pool.js';

type Db = Pool | PoolClient;

export const RECOVER_TYPE = 'service.recover';
/** The synthetic series that says an instance's restart budget is spent (the built-in rule alerts on it). */
export const BUDGET_SPENT_METRIC = 'sophon_recovery_budget_spent';

export interface DownInstance {
  id: string;
  serviceId: string;
  service: string;
  role: string;
  host: string;
  enabled: boolean;
  maxPerHour: number;
  /** Recover operations of the instance created in the last hour: the budget used. */
  lastHour: number;
  /** Recover operations of the instance ever: the next one is attempt `attempts + 1`. */
  attempts: number;
  /** A recover operation of the instance that has not finished yet. */
  liveRecovery: string | null;
}

export interface LockHolder {
  id: string;
  type: string;
  status: string;
}

export interface SkippedRecovery {
  instance: string;
  service: string;
  role: string;
  host: string;
  heldBy: LockHolder | null;
  reason: string;
}

/** What auto-recovery did in one poll: operations started, skips with their reason, instances left down. */
export interface RecoveryRecord {
  started: string[];
  skipped: SkippedRecovery[];
  budgetSpent: string[];
}

const RECOVERS = (alias: string) => `o.type = '${RECOVER_TYPE}' AND o.input ->> 'instanceId' = ${alias}.id::text`;

export function recoveryRepo(db: Db) {
  return {
    /**
     * Instances of ACTIVE services that should run but were last seen STOPPED or FAILED, on
     * READY hosts, with neither the host nor the service in maintenance.
     */
    async downInstances(clusterId: string): Promise<DownInstance[]> {
      return (
        await db.query<DownInstance>(
          `SELECT i.id, i.service_id AS "serviceId", s.name AS service, i.role, h.hostname AS host,
             s.auto_recovery_enabled AS enabled, s.auto_recovery_max_per_hour AS "maxPerHour",
             (SELECT count(*)::int FROM operations o WHERE ${RECOVERS('i')} AND o.created_at > now() - interval '1 hour') AS "lastHour",
             (SELECT count(*)::int FROM operations o WHERE ${RECOVERS('i')}) AS attempts,
             (SELECT o.id FROM operations o WHERE ${RECOVERS('i')} AND o.finished_at IS NULL LIMIT 1) AS "liveRecovery"
           FROM role_instances i JOIN services s ON s.id = i.service_id JOIN hosts h ON h.id = i.host_id
           WHERE i.cluster_id = $1 AND s.status = 'ACTIVE' AND i.desired_state = 'RUNNING' AND NOT i.leaving
             AND i.config_version IS NOT NULL AND i.observed_state IN ('STOPPED', 'FAILED')
             AND h.status = 'READY' AND NOT h.maintenance AND coalesce(h.maintenance_until <= now(), true)
             AND coalesce(s.maintenance_until <= now(), true)
           ORDER BY s.name, i.role, i.idx`,
          [clusterId],
        )
      ).rows;
    },

    /** Whether the instance still needs a recovery (checked again in the transaction that records one). */
    async stillDown(instanceId: string): Promise<boolean> {
      const res = await db.query(
        `SELECT 1 FROM role_instances WHERE id = $1 AND desired_state = 'RUNNING' AND NOT leaving AND observed_state IN ('STOPPED', 'FAILED')`,
        [instanceId],
      );
      return res.rowCount === 1;
    },

    /** The operation holding the service's lock (or the whole cluster's), if any. */
    async lockHolder(clusterId: string, service: string): Promise<LockHolder | null> {
      const res = await db.query<LockHolder>(
        `SELECT o.id, o.type, o.status FROM operation_locks l JOIN operations o ON o.id = l.operation_id
         WHERE l.cluster_id = $1 AND (l.service = $2 OR l.service = '') LIMIT 1`,
        [clusterId, service],
      );
      return res.rows[0] ?? null;
    },

    /**
     * Sets the budget-spent series of the given instances (value 1, labelled like `up`) and
     * drops it from every other instance of the cluster.
     */
    async setBudgetSpent(clusterId: string, spent: Array<{ host: string; service: string; role: string }>): Promise<void> {
      await db.query(
        `WITH spent AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS u(host, service, role)),
         dropped AS (
           DELETE FROM metric_latest m WHERE m.cluster_id = $1 AND m.metric = '${BUDGET_SPENT_METRIC}'
             AND NOT EXISTS (SELECT 1 FROM spent WHERE spent.host = m.host AND spent.service = m.service AND spent.role = m.role)
         ), history AS (
           INSERT INTO metric_samples (cluster_id, host, service, role, metric, labels, value, at)
           SELECT $1, host, service, role, '${BUDGET_SPENT_METRIC}', jsonb_build_object('service', service, 'role', role, 'host', host), 1, now() FROM spent
         )
         INSERT INTO metric_latest (cluster_id, host, service, role, metric, labels, value, at)
         SELECT $1, host, service, role, '${BUDGET_SPENT_METRIC}', jsonb_build_object('service', service, 'role', role, 'host', host), 1, now() FROM spent
         ON CONFLICT (cluster_id, metric, host, service, role, labels) DO UPDATE SET value = 1, at = EXCLUDED.at`,
        [clusterId, spent.map((s) => s.host), spent.map((s) => s.service), spent.map((s) => s.role)],
      );
    },
  };
}

/** Services, their role instances and config versions in Postgres. */
import type { Pool, PoolClient } from '../../platform/db/pool.js';
import type { ParameterValue } from '../defs/index.js';
import type { ConfigSet } from '../config/groups.js';

type Db = Pool | PoolClient;

export type ServiceStatus = 'DEPLOYING' | 'ACTIVE' | 'FAILED' | 'REMOVING';
export type DesiredState = 'RUNNING' | 'STOPPED';
export type ObservedState = 'UNKNOWN' | 'RUNNING' | 'STOPPED' | 'FAILED';

export interface ServiceRow {
  id: string;
  clusterId: string;
  clusterName: string;
  name: string;
  version: string | null;
  targetVersion: string;
  status: ServiceStatus;
  configVersion: number;
  /** Restart instances seen down, at most `maxPerHour` times per instance in any hour. */
  autoRecovery: { enabled: boolean; maxPerHour: number };
  /** Maintenance (alerts muted) lasts until then; past or null: none. */
  maintenanceUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface InstanceRow {
  id: string;
  serviceId: string;
  role: string;
  idx: number;
  hostId: string;
  hostname: string;
  address: string;
  /** The host's labels (e.g. rack=/r1), for templates such as a topology map. */
  labels: Record<string, string>;
  version: string | null;
  configVersion: number | null;
  desiredState: DesiredState;
  observedState: ObservedState;
  statusReason: string | null;
  /** When a step or a poll last observed the instance. */
  observedAt: Date | null;
  ports: Record<string, number>;
  /** A scale-in is removing it: peers' configurations no longer list it. */
  leaving: boolean;
}

export interface NewInstance {
  id: string;
  role: string;
  idx: number;
  hostId: string;
  ports: Record<string, number>;
}

const SERVICE = `SELECT s.id, s.cluster_id AS "clusterId", c.name AS "clusterName", s.name, s.version,
  s.target_version AS "targetVersion", s.status, s.config_version AS "configVersion", s.maintenance_until AS "maintenanceUntil",
  json_build_object('enabled', s.auto_recovery_enabled, 'maxPerHour', s.auto_recovery_max_per_hour) AS "autoRecovery", s.created_at AS "createdAt", s.updated_at AS "updatedAt"
  FROM services s JOIN clusters c ON c.id = s.cluster_id`;

const INSTANCE = `SELECT i.id, i.service_id AS "serviceId", i.role, i.idx, i.host_id AS "hostId", h.hostname, h.address, h.labels,
  i.version, i.config_version AS "configVersion", i.desired_state AS "desiredState", i.observed_state AS "observedState",
  i.status_reason AS "statusReason", i.observed_at AS "observedAt", i.ports, i.leaving
  FROM role_instances i JOIN hosts h ON h.id = i.host_id`;

export function servicesRepo(db: Db) {
  /** Adds instances to a deployed service (a scale-out's intent, caller's transaction). */
  async function insertInstances(clusterId: string, service: string, serviceId: string, instances: NewInstance[]): Promise<void> {
    await db.query(
      `INSERT INTO role_instances (id, cluster_id, service, service_id, role, idx, host_id, ports, desired_state)
       SELECT u.id, $1, $2, $3, u.role, u.idx, u.host_id, u.ports, 'RUNNING'
       FROM unnest($4::uuid[], $5::text[], $6::int[], $7::uuid[], $8::jsonb[]) AS u(id, role, idx, host_id, ports)`,
      [
        clusterId,
        service,
        serviceId,
        instances.map((i) => i.id),
        instances.map((i) => i.role),
        instances.map((i) => i.idx),
        instances.map((i) => i.hostId),
        instances.map((i) => JSON.stringify(i.ports)),
      ],
    );
  }

  return {
    insertInstances,

    async list(clusterId: string): Promise<ServiceRow[]> {
      return (await db.query<ServiceRow>(`${SERVICE} WHERE s.cluster_id = $1 ORDER BY s.name`, [clusterId])).rows;
    },

    /** By id or by name within the cluster. */
    async find(clusterId: string, idOrName: string): Promise<ServiceRow | undefined> {
      return (await db.query<ServiceRow>(`${SERVICE} WHERE s.cluster_id = $1 AND (s.id::text = $2 OR s.name = $2)`, [clusterId, idOrName]))
        .rows[0];
    },

    async get(id: string): Promise<ServiceRow | undefined> {
      return (await db.query<ServiceRow>(`${SERVICE} WHERE s.id = $1`, [id])).rows[0];
    },

    /** Records a deployment's intent: the service, config version 1 and its instances, all or nothing (caller's transaction). */
    async insertDeployment(s: {
      id: string;
      clusterId: string;
      name: string;
      version: string;
      operationId: string;
      values: Record<string, ParameterValue>;
      author: string;
      instances: NewInstance[];
    }): Promise<boolean> {
      const inserted = await db.query(
        `INSERT INTO services (id, cluster_id, name, target_version, status, created_by_operation)
         VALUES ($1, $2, $3, $4, 'DEPLOYING', $5) ON CONFLICT (cluster_id, name) DO NOTHING`,
        [s.id, s.clusterId, s.name, s.version, s.operationId],
      );
      if (inserted.rowCount !== 1) return false;
      await db.query(
        `INSERT INTO config_versions (service_id, version, "values", author, note) VALUES ($1, 1, $2, $3, 'initial deployment')`,
        [s.id, JSON.stringify(s.values), s.author],
      );
      await insertInstances(s.clusterId, s.name, s.id, s.instances);
      return true;
    },

    async setLeaving(ids: string[]): Promise<void> {
      await db.query(`UPDATE role_instances SET leaving = true, desired_state = 'STOPPED', updated_at = now() WHERE id = ANY($1::uuid[])`, [
        ids,
      ]);
    },

    async deleteInstances(ids: string[]): Promise<void> {
      await db.query(`DELETE FROM role_instances WHERE id = ANY($1::uuid[])`, [ids]);
    },

    async instances(serviceId: string): Promise<InstanceRow[]> {
      return (await db.query<InstanceRow>(`${INSTANCE} WHERE i.service_id = $1 ORDER BY i.role, i.idx`, [serviceId])).rows;
    },

    async instance(id: string): Promise<InstanceRow | undefined> {
      return (await db.query<InstanceRow>(`${INSTANCE} WHERE i.id = $1`, [id])).rows[0];
    },

    /** A config version's values and role groups; render an instance with `effectiveValues` of it. */
    async configSet(serviceId: string, version: number): Promise<ConfigSet> {
      const row = (
        await db.query<ConfigSet>(`SELECT "values", groups FROM config_versions WHERE service_id = $1 AND version = $2`, [
          serviceId,
          version,
        ])
      ).rows[0];
      return row ?? { values: {}, groups: {} };
    },

    /** Ports used by deployed services on the cluster's hosts, for placement checks. */
    async usedPorts(clusterId: string): Promise<Array<{ hostname: string; service: string; role: string; ports: Record<string, number> }>> {
      return (
        await db.query(
          `SELECT h.hostname, i.service, i.role, i.ports FROM role_instances i JOIN hosts h ON h.id = i.host_id WHERE i.cluster_id = $1`,
          [clusterId],
        )
      ).rows;
    },

    /** Changes the auto-recovery settings given; the others stay. */
    async setAutoRecovery(id: string, change: { enabled?: boolean | undefined; maxPerHour?: number | undefined }): Promise<void> {
      await db.query(
        `UPDATE services SET auto_recovery_enabled = coalesce($2, auto_recovery_enabled),
           auto_recovery_max_per_hour = coalesce($3, auto_recovery_max_per_hour), updated_at = now() WHERE id = $1`,
        [id, change.enabled ?? null, change.maxPerHour ?? null],
      );
    },

    async setMaintenanceUntil(id: string, until: Date | null): Promise<void> {
      await db.query(`UPDATE services SET maintenance_until = $2, updated_at = now() WHERE id = $1`, [id, until]);
    },

    async setStatus(id: string, status: ServiceStatus): Promise<void> {
      await db.query(`UPDATE services SET status = $2, updated_at = now() WHERE id = $1`, [id, status]);
    },

    /** The deployment finished: the service is at its target version. */
    async markDeployed(id: string): Promise<void> {
      await db.query(`UPDATE services SET status = 'ACTIVE', version = target_version, updated_at = now() WHERE id = $1`, [id]);
    },

    /** An upgrade starts: the version it installs (caller's transaction). */
    async setTargetVersion(id: string, version: string): Promise<void> {
      await db.query(`UPDATE services SET target_version = $2, updated_at = now() WHERE id = $1`, [id, version]);
    },

    /** An upgrade ended with every instance on `version`. */
    async markUpgraded(id: string, version: string): Promise<void> {
      await db.query(`UPDATE services SET version = $2, target_version = $2, updated_at = now() WHERE id = $1`, [id, version]);
    },

    /** An upgrade changed nothing or was rolled back: the target is what is installed again. */
    async dropTarget(id: string): Promise<void> {
      await db.query(`UPDATE services SET target_version = coalesce(version, target_version), updated_at = now() WHERE id = $1`, [id]);
    },

    async setInstanceInstalled(id: string, version: string, configVersion: number): Promise<void> {
      await db.query(`UPDATE role_instances SET version = $2, config_version = $3, updated_at = now() WHERE id = $1`, [
        id,
        version,
        configVersion,
      ]);
    },

    async setObserved(id: string, state: ObservedState, reason: string | null): Promise<void> {
      await db.query(
        `UPDATE role_instances SET observed_state = $2, status_reason = $3, observed_at = now(), updated_at = now() WHERE id = $1`,
        [id, state, reason],
      );
    },

    /**
     * Records many observations in one statement (a poll's status checks), each as of when it
     * was made: one older than the instance's last observation (an operation step's) is dropped.
     */
    async setObservedMany(observations: Array<{ id: string; state: ObservedState; reason: string | null; at: Date }>): Promise<void> {
      if (observations.length === 0) return;
      await db.query(
        `UPDATE role_instances i SET observed_state = u.state, status_reason = u.reason, observed_at = u.at,
           updated_at = CASE WHEN i.observed_state = u.state THEN i.updated_at ELSE now() END
         FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS u(id, state, reason, at)
         WHERE i.id = u.id AND (i.observed_at IS NULL OR i.observed_at <= u.at)`,
        [observations.map((o) => o.id), observations.map((o) => o.state), observations.map((o) => o.reason), observations.map((o) => o.at)],
      );
    },

    async setDesired(ids: string[], state: DesiredState): Promise<void> {
      await db.query(`UPDATE role_instances SET desired_state = $2, updated_at = now() WHERE id = ANY($1::uuid[])`, [ids, state]);
    },

    /** Drops the service with its instances and config versions (cascade). */
    async remove(id: string): Promise<void> {
      await db.query(`DELETE FROM role_instances WHERE service_id = $1`, [id]);
      await db.query(`DELETE FROM services WHERE id = $1`, [id]);
    },
  };
}

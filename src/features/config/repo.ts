/** Config versions of services in Postgres: immutable rows, one per change. */
import type { Pool, PoolClient } from '../../platform/db/pool.js';
import type { ParameterValue } from '../defs/index.js';
import type { RoleGroups } from './groups.js';

type Db = Pool | PoolClient;

export type Changes = Record<string, { from: ParameterValue | null; to: ParameterValue | null }>;

export interface ConfigVersionRow {
  version: number;
  values: Record<string, ParameterValue>;
  groups: RoleGroups;
  changes: Changes;
  author: string;
  note: string;
  operationId: string | null;
  createdAt: Date;
}

const VERSION = `SELECT version, "values", groups, changes, author, note, operation_id AS "operationId", created_at AS "createdAt" FROM config_versions`;

/** Parameters whose value differs between two sets of values. */
export function changesBetween(before: Record<string, ParameterValue>, after: Record<string, ParameterValue>): Changes {
  const changes: Changes = {};
  for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    if (before[name] !== after[name]) changes[name] = { from: before[name] ?? null, to: after[name] ?? null };
  }
  return changes;
}

export function configRepo(db: Db) {
  return {
    async get(serviceId: string, version: number): Promise<ConfigVersionRow | undefined> {
      return (await db.query<ConfigVersionRow>(`${VERSION} WHERE service_id = $1 AND version = $2`, [serviceId, version])).rows[0];
    },

    /** Newest first; `before` pages back from a version. */
    async list(serviceId: string, opts: { limit: number; before?: number | undefined }): Promise<ConfigVersionRow[]> {
      return (
        await db.query<ConfigVersionRow>(
          `${VERSION} WHERE service_id = $1 AND ($2::int IS NULL OR version < $2) ORDER BY version DESC LIMIT $3`,
          [serviceId, opts.before ?? null, opts.limit],
        )
      ).rows;
    },

    /**
     * Appends the next version and makes it the service's (caller's transaction). The service
     * row is locked first, so two concurrent changes number their versions one after the other.
     */
    async append(v: {
      serviceId: string;
      values: Record<string, ParameterValue>;
      groups: RoleGroups;
      changes: Changes;
      author: string;
      note: string;
      operationId: string;
    }): Promise<{ previous: number; version: number }> {
      const previous = (await db.query<{ v: number }>(`SELECT config_version AS v FROM services WHERE id = $1 FOR UPDATE`, [v.serviceId]))
        .rows[0]!.v;
      const next = (
        await db.query<{ next: number }>(`SELECT coalesce(max(version), 0) + 1 AS next FROM config_versions WHERE service_id = $1`, [
          v.serviceId,
        ])
      ).rows[0]!.next;
      await db.query(
        `INSERT INTO config_versions (service_id, version, "values", groups, changes, author, note, operation_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [v.serviceId, next, JSON.stringify(v.values), JSON.stringify(v.groups), JSON.stringify(v.changes), v.author, v.note, v.operationId],
      );
      await db.query(`UPDATE services SET config_version = $2, updated_at = now() WHERE id = $1`, [v.serviceId, next]);
      return { previous, version: next };
    },

    /** The version the service's instances should run (moved back when a change rolls back). */
    async setServiceVersion(serviceId: string, version: number): Promise<void> {
      await db.query(`UPDATE services SET config_version = $2, updated_at = now() WHERE id = $1`, [serviceId, version]);
    },

    /** The version an instance runs: its files are written and, when needed, it was restarted or reloaded. */
    async setInstanceVersion(instanceId: string, version: number): Promise<void> {
      await db.query(`UPDATE role_instances SET config_version = $2, updated_at = now() WHERE id = $1`, [instanceId, version]);
    },
  };
}

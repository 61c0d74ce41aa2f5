import { notFound } from '../../platform/errors.js';
import type { Pool, PoolClient } from '../../platform/db/pool.js';

export type ClusterStatus = 'CREATING' | 'ACTIVE' | 'FAILED' | 'REMOVING';

export interface Cluster {
  id: string;
  name: string;
  description: string;
  status: ClusterStatus;
  createdByOperation: string | null;
  createdAt: Date;
  updatedAt: Date;
}

type Db = Pool | PoolClient;

/** A cluster by id or name, or a 404 naming what was asked for. */
export async function findCluster(db: Db, idOrName: string): Promise<Cluster> {
  const cluster = await clustersRepo(db).find(idOrName);
  if (!cluster) throw notFound('Cluster', idOrName);
  return cluster;
}

const COLUMNS = `id, name, description, status, created_by_operation AS "createdByOperation",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

export function clustersRepo(db: Db) {
  return {
    async list(): Promise<Cluster[]> {
      return (await db.query<Cluster>(`SELECT ${COLUMNS} FROM clusters ORDER BY name`)).rows;
    },

    /** Looks a cluster up by id or by name: names are usable wherever an id is. */
    async find(idOrName: string): Promise<Cluster | undefined> {
      return (await db.query<Cluster>(`SELECT ${COLUMNS} FROM clusters WHERE id::text = $1 OR name = $1`, [idOrName])).rows[0];
    },

    /**
     * Reserves the name; returns false when a cluster of that name exists already. A cluster
     * whose creation FAILED (it has no hosts: those are added once ACTIVE) gives its name up.
     */
    async insertIntent(c: { id: string; name: string; description: string; operationId: string }): Promise<boolean> {
      await db.query(
        `DELETE FROM clusters WHERE name = $1 AND status = 'FAILED'
           AND NOT EXISTS (SELECT 1 FROM hosts WHERE hosts.cluster_id = clusters.id)`,
        [c.name],
      );
      const res = await db.query(
        `INSERT INTO clusters (id, name, description, status, created_by_operation)
         VALUES ($1, $2, $3, 'CREATING', $4) ON CONFLICT (name) DO NOTHING`,
        [c.id, c.name, c.description, c.operationId],
      );
      return res.rowCount === 1;
    },

    /** Marks FAILED the clusters left CREATING by a create operation that ended FAILED or CANCELLED. */
    async failAbandonedCreates(): Promise<string[]> {
      const res = await db.query<{ name: string }>(
        `UPDATE clusters c SET status = 'FAILED', updated_at = now()
         FROM operations o
         WHERE c.status = 'CREATING' AND o.id = c.created_by_operation AND o.status IN ('FAILED', 'CANCELLED')
         RETURNING c.name`,
      );
      return res.rows.map((r) => r.name);
    },

    /** Moves a cluster to a new status; returns whether a row changed. */
    async setStatus(id: string, status: ClusterStatus): Promise<boolean> {
      const res = await db.query(`UPDATE clusters SET status = $2, updated_at = now() WHERE id = $1 AND status <> $2`, [id, status]);
      return res.rowCount === 1;
    },
  };
}

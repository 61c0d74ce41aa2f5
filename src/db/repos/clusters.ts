import type { Pool, PoolClient } from '../pool.js';

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

    /** Reserves the name; returns false when a cluster of that name exists already. */
    async insertIntent(c: { id: string; name: string; description: string; operationId: string }): Promise<boolean> {
      const res = await db.query(
        `INSERT INTO clusters (id, name, description, status, created_by_operation)
         VALUES ($1, $2, $3, 'CREATING', $4) ON CONFLICT (name) DO NOTHING`,
        [c.id, c.name, c.description, c.operationId],
      );
      return res.rowCount === 1;
    },

    /** Moves a cluster to a new status; returns whether a row changed. */
    async setStatus(id: string, status: ClusterStatus): Promise<boolean> {
      const res = await db.query(
        `UPDATE clusters SET status = $2, updated_at = now() WHERE id = $1 AND status <> $2`,
        [id, status],
      );
      return res.rowCount === 1;
    },
  };
}

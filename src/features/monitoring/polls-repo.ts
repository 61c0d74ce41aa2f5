/** The last poll of each cluster: when it ran, how long it took, its counts and what auto-recovery did. */
import type { Pool, PoolClient } from '../../platform/db/pool.js';

type Db = Pool | PoolClient;

export function pollsRepo(db: Db) {
  return {
    /** A poll of the cluster starts. */
    async pollStarted(clusterId: string): Promise<void> {
      await db.query(
        `INSERT INTO cluster_polls (cluster_id, started_at) VALUES ($1, now())
         ON CONFLICT (cluster_id) DO UPDATE SET started_at = now()`,
        [clusterId],
      );
    },

    /** The poll finished: its duration (from its start), counts and what recovery did. */
    async pollFinished(clusterId: string, record: { counts: Record<string, number>; recovery: unknown }): Promise<void> {
      await db.query(
        `UPDATE cluster_polls SET finished_at = now(), duration_ms = (extract(epoch FROM now() - started_at) * 1000)::int,
           counts = $2, recovery = $3 WHERE cluster_id = $1`,
        [clusterId, JSON.stringify(record.counts), JSON.stringify(record.recovery)],
      );
    },

    async lastPoll(
      clusterId: string,
    ): Promise<
      { counts: Record<string, number>; recovery: unknown; startedAt: Date; finishedAt: Date | null; durationMs: number | null } | undefined
    > {
      return (
        await db.query(
          `SELECT started_at AS "startedAt", finished_at AS "finishedAt", duration_ms AS "durationMs", counts, recovery FROM cluster_polls WHERE cluster_id = $1`,
          [clusterId],
        )
      ).rows[0];
    },
  };
}

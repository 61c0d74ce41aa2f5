import { isUuid, type Pool, type PoolClient } from '../pool.js';

export const OPERATION_STATUSES = [
  'PENDING',
  'RUNNING',
  'HOLDING',
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
  'ROLLED_BACK',
] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

export interface Operation {
  id: string;
  type: string;
  status: OperationStatus;
  clusterId: string | null;
  clusterName: string | null;
  service: string | null;
  workflowId: string;
  workflowType: string;
  runId: string | null;
  requestedBy: string;
  input: Record<string, unknown>;
  result: unknown;
  error: { code: string; message: string } | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface OperationStep {
  host: string;
  step: string;
  status: string;
  attempt: number;
  exitCode: number | null;
  durationMs: number | null;
  stdoutTail: string | null;
  stderrTail: string | null;
  message: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
}

type Db = Pool | PoolClient;

const COLUMNS = `id, type, status, cluster_id AS "clusterId", cluster_name AS "clusterName", service,
  workflow_id AS "workflowId", workflow_type AS "workflowType", run_id AS "runId", requested_by AS "requestedBy", input, result, error,
  created_at AS "createdAt", started_at AS "startedAt", finished_at AS "finishedAt"`;

export interface NewOperation {
  id: string;
  type: string;
  clusterId: string | null;
  clusterName: string | null;
  service: string | null;
  workflowId: string;
  workflowType: string;
  requestedBy: string;
  input: Record<string, unknown>;
}

const CREATED_US = `(extract(epoch FROM created_at) * 1000000)::bigint`;

export function operationsRepo(db: Db) {
  return {
    async insert(op: NewOperation): Promise<void> {
      await db.query(
        `INSERT INTO operations
           (id, type, status, cluster_id, cluster_name, service, workflow_id, workflow_type, requested_by, input)
         VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $7, $8, $9)`,
        [op.id, op.type, op.clusterId, op.clusterName, op.service, op.workflowId, op.workflowType, op.requestedBy, op.input],
      );
    },

    async get(id: string): Promise<Operation | undefined> {
      if (!isUuid(id)) return undefined;
      return (await db.query<Operation>(`SELECT ${COLUMNS} FROM operations WHERE id = $1`, [id])).rows[0];
    },

    /**
     * A page of operations, newest first, after the row whose sort key is `after`; fetches
     * `limit + 1` rows. The key is the creation time in microseconds (exact) and the id.
     */
    async list(filter: {
      cluster?: string | undefined;
      service?: string | undefined;
      status?: string | undefined;
      limit: number;
      after?: [string, string] | undefined;
    }): Promise<Array<Operation & { sortKey: [string, string] }>> {
      const where: string[] = [];
      const args: unknown[] = [];
      for (const [column, value] of [
        ['cluster_name', filter.cluster],
        ['service', filter.service],
        ['status', filter.status],
      ] as const) {
        if (value !== undefined) {
          args.push(value);
          where.push(`${column} = $${args.length}`);
        }
      }
      if (filter.after) {
        args.push(filter.after[0], filter.after[1]);
        where.push(`(${CREATED_US}, id) < ($${args.length - 1}::bigint, $${args.length}::uuid)`);
      }
      args.push(filter.limit + 1);
      const sql = `SELECT ${COLUMNS}, json_build_array(${CREATED_US}::text, id) AS "sortKey" FROM operations
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY created_at DESC, id DESC LIMIT $${args.length}`;
      return (await db.query<Operation & { sortKey: [string, string] }>(sql, args)).rows;
    },

    /** Operations recorded but whose workflow start was never confirmed (API crashed between). */
    async unstarted(olderThanSeconds: number): Promise<Operation[]> {
      return (
        await db.query<Operation>(
          `SELECT ${COLUMNS} FROM operations WHERE status = 'PENDING' AND run_id IS NULL
             AND created_at < now() - make_interval(secs => $1) ORDER BY created_at`,
          [olderThanSeconds],
        )
      ).rows;
    },

    async setRunId(id: string, runId: string): Promise<void> {
      await db.query(`UPDATE operations SET run_id = $2 WHERE id = $1`, [id, runId]);
    },

    /** Marks a started operation RUNNING; a final status is never overwritten. */
    async markRunning(id: string): Promise<void> {
      await db.query(
        `UPDATE operations SET status = 'RUNNING', started_at = coalesce(started_at, now())
         WHERE id = $1 AND status IN ('PENDING', 'HOLDING')`,
        [id],
      );
    },

    async finish(
      id: string,
      status: OperationStatus,
      outcome: { result?: unknown; error?: { code: string; message: string } },
    ): Promise<void> {
      await db.query(
        `UPDATE operations SET status = $2, result = $3, error = $4, finished_at = coalesce(finished_at, now()),
           started_at = coalesce(started_at, now())
         WHERE id = $1 AND finished_at IS NULL`,
        [id, status, outcome.result === undefined ? null : JSON.stringify(outcome.result), outcome.error ?? null],
      );
    },

    async steps(id: string): Promise<OperationStep[]> {
      return (
        await db.query<OperationStep>(
          `SELECT host, step, status, attempt, exit_code AS "exitCode", duration_ms AS "durationMs",
             stdout_tail AS "stdoutTail", stderr_tail AS "stderrTail", message,
             started_at AS "startedAt", finished_at AS "finishedAt"
           FROM operation_steps WHERE operation_id = $1 ORDER BY id`,
          [id],
        )
      ).rows;
    },
  };
}

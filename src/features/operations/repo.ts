import { isUuid, type Pool, type PoolClient } from '../../platform/db/pool.js';

export const OPERATION_STATUSES = ['PENDING', 'RUNNING', 'HOLDING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK'] as const;
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
  /** Steps waiting for an operator decision while HOLDING. */
  holding: HeldStep[] | null;
  canRollback: boolean;
  phase: string | null;
  progress: { done: number; total: number } | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface HeldStep {
  host: string;
  role: string;
  phase: string;
  step: string;
  reason: string;
}

/** What a workflow reports about itself while it runs (see reportOperationState). */
export interface OperationState {
  status: 'RUNNING' | 'HOLDING';
  holding: HeldStep[];
  canRollback: boolean;
  phase: string | null;
  progress: { done: number; total: number } | null;
}

export interface OperationStep {
  host: string;
  role: string;
  phase: string;
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
  holding, can_rollback AS "canRollback", phase, progress,
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
  /** The workflow's argument, as the operation's start checked it. */
  input: object;
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

    /**
     * Up to `limit` operations a workflow should be running, for the reconciler. Picked at
     * random, so long-held operations cannot keep newer ones from ever being looked at.
     */
    async live(limit: number): Promise<Operation[]> {
      return (
        await db.query<Operation>(
          `SELECT ${COLUMNS} FROM operations
           WHERE finished_at IS NULL AND (status IN ('RUNNING', 'HOLDING') OR (status = 'PENDING' AND run_id IS NOT NULL))
           ORDER BY random() LIMIT $1`,
          [limit],
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

    /** Records the final status once and releases the operation's lock, whatever the status. */
    async finish(
      id: string,
      status: OperationStatus,
      outcome: { result?: unknown; error?: { code: string; message: string } },
    ): Promise<void> {
      await db.query(
        `WITH released AS (DELETE FROM operation_locks WHERE operation_id = $1)
         UPDATE operations SET status = $2, result = $3, error = $4, finished_at = coalesce(finished_at, now()),
           started_at = coalesce(started_at, now()), holding = NULL
         WHERE id = $1 AND finished_at IS NULL`,
        [id, status, outcome.result === undefined ? null : JSON.stringify(outcome.result), outcome.error ?? null],
      );
    },

    /** A workflow's report of its state; an older report (lower seq) never overwrites a newer one. */
    async reportState(id: string, seq: number, state: OperationState): Promise<void> {
      await db.query(
        `UPDATE operations SET status = $3, holding = $4, can_rollback = $5, phase = $6, progress = $7, state_seq = $2,
           started_at = coalesce(started_at, now())
         WHERE id = $1 AND finished_at IS NULL AND state_seq < $2`,
        [
          id,
          seq,
          state.status,
          state.holding.length ? JSON.stringify(state.holding) : null,
          state.canRollback,
          state.phase,
          state.progress,
        ],
      );
    },

    /**
     * Takes the (cluster, service) lock for an operation inside the transaction that records
     * it; service '' locks the whole cluster. The cluster row lock serialises takers, so two
     * requests can never both pass the check. Returns the operation holding it, if any.
     */
    async acquireLock(clusterId: string, service: string, operationId: string): Promise<Operation | undefined> {
      await db.query(`SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE`, [clusterId]);
      const holder = await db.query<Operation>(
        `SELECT ${COLUMNS} FROM operations WHERE id = (
           SELECT operation_id FROM operation_locks WHERE cluster_id = $1 AND (service = $2 OR service = '' OR $2 = '') LIMIT 1)`,
        [clusterId, service],
      );
      if (holder.rows[0]) return holder.rows[0];
      await db.query(`INSERT INTO operation_locks (cluster_id, service, operation_id) VALUES ($1, $2, $3)`, [
        clusterId,
        service,
        operationId,
      ]);
      return undefined;
    },

    /** The latest attempt of every step, in the order the steps first ran. */
    async steps(id: string): Promise<OperationStep[]> {
      return (
        await db.query<OperationStep>(
          `SELECT host, role, phase, step, status, attempt, "exitCode", "durationMs", "stdoutTail", "stderrTail", message, "startedAt", "finishedAt"
           FROM (SELECT DISTINCT ON (host, role, phase, step) host, role, phase, step, status, attempt,
                   exit_code AS "exitCode", duration_ms AS "durationMs", stdout_tail AS "stdoutTail", stderr_tail AS "stderrTail",
                   message, started_at AS "startedAt", finished_at AS "finishedAt",
                   min(id) OVER (PARTITION BY host, role, phase, step) AS first_id
                 FROM operation_steps WHERE operation_id = $1
                 ORDER BY host, role, phase, step, attempt DESC) latest
           ORDER BY first_id`,
          [id],
        )
      ).rows;
    },

    /** Every attempt of one operation's steps, oldest first (what `?attempts=all` shows). */
    async attempts(id: string): Promise<OperationStep[]> {
      return (
        await db.query<OperationStep>(
          `SELECT host, role, phase, step, status, attempt, exit_code AS "exitCode", duration_ms AS "durationMs",
             stdout_tail AS "stdoutTail", stderr_tail AS "stderrTail", message, started_at AS "startedAt", finished_at AS "finishedAt"
           FROM operation_steps WHERE operation_id = $1 ORDER BY id`,
          [id],
        )
      ).rows;
    },
  };
}

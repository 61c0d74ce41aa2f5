import { randomUUID } from 'node:crypto';
import { isGrpcDeadlineError, isGrpcServiceError, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Config } from '../config.js';
import { inTransaction, type Pool, type PoolClient } from '../db/pool.js';
import { auditRepo } from '../db/repos/audit.js';
import { hostsRepo } from '../db/repos/hosts.js';
import { operationsRepo, type Operation, type OperationStatus } from '../db/repos/operations.js';
import { notFound, SophonError } from '../errors.js';
import type { Logger } from '../log.js';
import { temporalUiUrl } from '../temporal/client.js';
import { pageOf } from '../api/paging.js';
import { SA_CLUSTER, SA_OPERATION_TYPE, SA_SERVICE } from '../../workflows/shared.js';

export interface StartOperation {
  /** Operation type shown to operators, e.g. `cluster.create`. */
  type: string;
  workflowType: string;
  workflowId: (operationId: string) => string;
  /** The workflow's single argument; receives the new operation's id. */
  args: (operationId: string) => Record<string, unknown>;
  cluster?: { id: string | null; name: string };
  service?: string;
  requestedBy: string;
  requestId?: string;
  /**
   * Writes the intent in the same transaction, after the operation row (so rows may refer to
   * it); may throw CONFLICT, which records nothing.
   */
  prepare?: (tx: PoolClient, operationId: string) => Promise<void>;
}

export interface OperationsServiceDeps {
  config: Config;
  pool: Pool;
  temporal: Client;
  logger: Logger;
}

export type OperationsService = ReturnType<typeof createOperationsService>;

/** gRPC INVALID_ARGUMENT: Temporal refuses the request itself (e.g. input past the blob size limit); retrying cannot help. */
const GRPC_INVALID_ARGUMENT = 3;

/** The gRPC status behind a Temporal client error (its code and the server's words). */
function grpcStatus(err: unknown): { code: number; details: string } | undefined {
  for (let e = err; e instanceof Error; e = e.cause) if (isGrpcServiceError(e)) return { code: e.code, details: e.details };
  return undefined;
}

/** What a closed workflow run means for its operation, when the run ended without closing it. */
const CLOSED_RUN: Record<string, { status: OperationStatus; message: string }> = {
  TERMINATED: { status: 'FAILED', message: 'its workflow run was terminated in Temporal' },
  CANCELLED: { status: 'CANCELLED', message: 'its workflow run was cancelled' },
  FAILED: { status: 'FAILED', message: 'its workflow run failed in Temporal' },
  TIMED_OUT: { status: 'FAILED', message: 'its workflow run timed out in Temporal' },
};

export function createOperationsService({ config, pool, temporal, logger }: OperationsServiceDeps) {
  const operations = operationsRepo(pool);

  function view(op: Operation) {
    return {
      id: op.id,
      type: op.type,
      status: op.status,
      cluster: op.clusterName,
      service: op.service,
      workflowId: op.workflowId,
      runId: op.runId,
      temporalUiUrl: temporalUiUrl(config, op.workflowId, op.runId),
      requestedBy: op.requestedBy,
      createdAt: op.createdAt,
      startedAt: op.startedAt,
      finishedAt: op.finishedAt,
      result: op.result,
      error: op.error,
    };
  }

  /**
   * Starts the operation's workflow. Idempotent: the workflow id is fixed by the operation,
   * so starting twice finds the first run.
   */
  /** Every Temporal call made for a request has a deadline; past it the caller gets a 503. */
  const withDeadline = <T>(fn: () => Promise<T>) => temporal.withDeadline(Date.now() + config.api.dependencyTimeoutMs, fn);

  function temporalUnavailable(err: unknown, consequence: string): SophonError {
    const reason = isGrpcDeadlineError(err) ? `no answer within ${config.api.dependencyTimeoutMs / 1000} s` : (err as Error).message;
    return new SophonError('DEPENDENCY_UNAVAILABLE', `Temporal is unavailable (${reason}); ${consequence}`);
  }

  /** Ends an operation that will never run, with its hosts, through the one finishing path. */
  async function fail(op: Operation, status: OperationStatus, error: { code: string; message: string }): Promise<Operation> {
    await operations.finish(op.id, status, { error });
    await hostsRepo(pool).failUnfinished(op.id, `operation ${op.id}: ${error.message}`);
    return (await operations.get(op.id)) ?? op;
  }

  /**
   * Starts the operation's workflow. Idempotent: the workflow id is fixed by the operation,
   * so starting twice finds the first run. A start Temporal refuses for good (invalid
   * argument, such as an input past its size limit) fails the operation with the reason.
   */
  async function startWorkflow(op: Operation, requestId?: string): Promise<Operation> {
    let runId: string;
    try {
      const handle = await withDeadline(() =>
        temporal.workflow.start(op.workflowType, {
          taskQueue: config.temporal.taskQueue,
          workflowId: op.workflowId,
          args: [op.input],
          typedSearchAttributes: new TypedSearchAttributes([
            { key: SA_OPERATION_TYPE, value: op.type },
            ...(op.clusterName ? [{ key: SA_CLUSTER, value: op.clusterName }] : []),
            ...(op.service ? [{ key: SA_SERVICE, value: op.service }] : []),
          ]),
        }),
      );
      runId = handle.firstExecutionRunId;
    } catch (err) {
      const status = grpcStatus(err);
      if (status?.code === GRPC_INVALID_ARGUMENT) {
        logger.warn({ operationId: op.id, requestId, err }, 'Temporal refused the workflow; the operation failed');
        return fail(op, 'FAILED', { code: 'WORKFLOW_REFUSED', message: `Temporal refused its workflow: ${status.details}` });
      }
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
        logger.warn({ operationId: op.id, requestId, err }, 'workflow start failed; the operation stays PENDING');
        throw temporalUnavailable(err, `operation ${op.id} is recorded and starts automatically once Temporal answers`);
      }
      runId = (await withDeadline(() => temporal.workflow.getHandle(op.workflowId).describe())).runId;
    }
    await operations.setRunId(op.id, runId);
    return { ...op, runId };
  }

  /**
   * Cancels the operation's run; a run that already ended (terminated or reset in the Temporal
   * UI, say) closes the operation from how it ended, and one Temporal no longer knows as FAILED.
   */
  async function cancelRun(op: Operation): Promise<Operation> {
    let outcome: { status: OperationStatus; message: string };
    try {
      const handle = temporal.workflow.getHandle(op.workflowId);
      const run = await withDeadline(() => handle.describe());
      if (run.status.name === 'RUNNING') {
        await withDeadline(() => handle.cancel());
        return op;
      }
      if (run.status.name === 'COMPLETED') {
        await operations.finish(op.id, 'SUCCEEDED', {});
        return (await operations.get(op.id)) ?? op;
      }
      outcome = CLOSED_RUN[run.status.name] ?? { status: 'FAILED', message: `its workflow run is ${run.status.name}` };
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw temporalUnavailable(err, `operation ${op.id} was not cancelled`);
      outcome = { status: 'FAILED', message: 'its workflow run no longer exists in Temporal' };
    }
    return fail(op, outcome.status, { code: outcome.status === 'FAILED' ? 'WORKFLOW_GONE' : outcome.status, message: `Operation ended: ${outcome.message}` });
  }

  return {
    view,

    async start(req: StartOperation) {
      const id = randomUUID();
      await inTransaction(pool, async (tx) => {
        await operationsRepo(tx).insert({
          id,
          type: req.type,
          clusterId: req.cluster?.id ?? null,
          clusterName: req.cluster?.name ?? null,
          service: req.service ?? null,
          workflowId: req.workflowId(id),
          workflowType: req.workflowType,
          requestedBy: req.requestedBy,
          input: req.args(id),
        });
        await req.prepare?.(tx, id);
        await auditRepo(tx).record({
          actor: req.requestedBy,
          action: `${req.type}.requested`,
          target: [req.cluster?.name, req.service].filter(Boolean).join('/'),
          requestId: req.requestId,
          details: { operationId: id },
        });
      });
      const op = await operations.get(id);
      if (!op) throw notFound('Operation', id);
      logger.info({ operationId: id, workflowId: op.workflowId, type: op.type, requestId: req.requestId }, 'operation requested');
      return view(await startWorkflow(op, req.requestId));
    },

    async get(id: string) {
      const op = await operations.get(id);
      if (!op) throw notFound('Operation', id);
      return { ...view(op), steps: await operations.steps(id) };
    },

    async list(filter: { cluster?: string | undefined; service?: string | undefined; status?: string | undefined; limit: number; after?: [string, string] | undefined }) {
      const { items, nextCursor } = pageOf(await operations.list(filter), filter.limit, (op) => op.sortKey);
      return { operations: items.map(view), nextCursor };
    },

    async cancel(id: string, actor: string) {
      let op = await operations.get(id);
      if (!op) throw notFound('Operation', id);
      if (op.finishedAt) {
        throw new SophonError('CONFLICT', `Operation ${id} already finished with status ${op.status}; nothing to cancel`);
      }
      if (!op.runId) {
        // Its workflow never started (Temporal was unreachable): nothing runs, so close it here.
        op = await fail(op, 'CANCELLED', { code: 'CANCELLED', message: 'Cancelled before it started' });
      } else {
        op = await cancelRun(op);
      }
      await auditRepo(pool).record({ actor, action: 'operation.cancel', target: op.workflowId, details: { operationId: id } });
      return view(op);
    },

    /**
     * Starts workflows of operations whose start was interrupted (crash or Temporal outage).
     * Each is tried on its own: one that fails does not keep the others from starting.
     */
    async resumeUnstarted(olderThanSeconds = 15): Promise<number> {
      const pending = await operations.unstarted(olderThanSeconds);
      let started = 0;
      for (const op of pending) {
        try {
          const after = await startWorkflow(op);
          if (after.runId) started++;
          logger.info({ operationId: op.id, workflowId: op.workflowId, status: after.status }, 'resumed an operation whose start had been interrupted');
        } catch (err) {
          logger.warn({ operationId: op.id, err }, 'could not resume an operation; it is tried again later');
        }
      }
      return started;
    },
  };
}

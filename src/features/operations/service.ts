import { randomUUID } from 'node:crypto';
import {
  isGrpcServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Config } from '../../platform/settings.js';
import { inTransaction, type Pool, type PoolClient } from '../../platform/db/pool.js';
import { auditRepo } from '../audit/repo.js';
import { idempotencyRepo, type IdempotencyRequest, type StoredIdempotencyKey } from '../../platform/http/idempotency-repo.js';
import { hostsRepo } from '../hosts/repo.js';
import { operationsRepo, type Operation, type OperationStatus } from './repo.js';
import { conflict, notFound, SophonError } from '../../platform/errors.js';
import type { Logger } from '../../platform/log.js';
import { temporalCalls, temporalUiUrl } from '../../platform/temporal/client.js';
import { pageOf } from '../../platform/http/paging.js';
import { decideUpdate, type DecisionAction } from './workflow/messages.js';
import type { WorkflowInput, WorkflowName } from './types.js';
import { SA_CLUSTER, SA_KIND, SA_OPERATION_TYPE, SA_SERVICE } from '../../platform/temporal/search-attributes.js';
import { operationDetails, operationSummary } from './summary.js';

export interface StartOperation<W extends WorkflowName = WorkflowName, A extends Record<string, unknown> = Record<never, never>> {
  /** Operation type shown to operators, e.g. `cluster.create`. */
  type: string;
  /** The workflow to run; stored by name on the operation row. */
  workflowType: W;
  workflowId: (operationId: string) => string;
  /** The workflow's single argument, checked against its signature; receives the new operation's id. */
  args: (operationId: string) => WorkflowInput<W>;
  cluster?: { id: string | null; name: string };
  service?: string;
  /**
   * Takes the one-mutating-operation lock of the cluster's service (`service`), or of the
   * whole cluster (`''`); a request while another operation holds it is a 409 naming it.
   */
  lock?: { service: string };
  requestedBy: string;
  requestId?: string;
  /**
   * Writes the intent in the same transaction, after the operation row (so rows may refer to
   * it); may throw CONFLICT, which records nothing.
   */
  prepare?: (tx: PoolClient, operationId: string) => Promise<void>;
  /** From `idempotencyOf(req)`: a repeated request gets the first operation back instead of a new one. */
  idempotency?: IdempotencyRequest | undefined;
  /** The rest of the 202 answer besides `operation`; stored with the idempotency key (so never secrets), so a replay answers the same. */
  answer?: A;
}

/** Names of the top-level fields whose hashes differ between two bodies. */
const differingFields = (a: Record<string, string>, b: Record<string, string>) =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((f) => a[f] !== b[f]).sort();

/** A request that reused a key the same token had used for a different request. */
function keyReused(req: IdempotencyRequest, first: StoredIdempotencyKey): SophonError {
  const fields = differingFields(first.fieldHashes, req.fieldHashes);
  const what =
    first.method !== req.method || first.path !== req.path
      ? `${first.method} ${first.path}, not ${req.method} ${req.path}`
      : fields.length
        ? `a body that differs in ${fields.join(', ')}`
        : 'a different body';
  return new SophonError(
    'IDEMPOTENCY_KEY_REUSED',
    `Idempotency-Key '${req.key}' was used at ${first.createdAt.toISOString()} for ${what} (operation ${first.operationId}); ` +
      'send a new key for a different request',
  );
}

/** Thrown inside the start transaction to roll it back when the key names an earlier operation. */
class KeyTaken {
  constructor(readonly first: StoredIdempotencyKey) {}
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
      phase: op.phase,
      holding: op.holding,
      canRollback: op.canRollback,
      requestedBy: op.requestedBy,
      createdAt: op.createdAt,
      startedAt: op.startedAt,
      finishedAt: op.finishedAt,
      result: op.result,
      error: op.error,
    };
  }

  /** Every Temporal call made for a request has a deadline; past it the caller gets a 503. */
  const { withDeadline, temporalUnavailable } = temporalCalls(temporal, config.api.dependencyTimeoutMs);

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
          staticSummary: operationSummary(op),
          staticDetails: operationDetails(op),
          typedSearchAttributes: new TypedSearchAttributes([
            { key: SA_KIND, value: 'operation' },
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
    return fail(op, outcome.status, {
      code: outcome.status === 'FAILED' ? 'WORKFLOW_GONE' : outcome.status,
      message: `Operation ended: ${outcome.message}`,
    });
  }

  /** Writes the operation, its intent (`prepare`), its audit entry and its idempotency key at once. */
  async function record(req: StartOperation<WorkflowName, Record<string, unknown>>, id: string, answer: Record<string, unknown>) {
    await inTransaction(pool, async (tx) => {
      if (req.idempotency && !(await idempotencyRepo(tx).claim(req.idempotency, id, answer))) {
        // Read committed: this statement sees the key of the request that won.
        const first = await idempotencyRepo(tx).find(req.idempotency.actor, req.idempotency.key);
        if (!first)
          throw new SophonError('CONFLICT', `Idempotency-Key '${req.idempotency.key}' changed while this request ran; send it again`);
        throw new KeyTaken(first);
      }
      // The cluster row first, as acquireLock takes it: the operation row's foreign key would
      // otherwise share-lock it, and two concurrent starts would deadlock on the upgrade.
      if (req.lock && req.cluster?.id) await tx.query(`SELECT 1 FROM clusters WHERE id = $1 FOR UPDATE`, [req.cluster.id]);
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
      if (req.lock) {
        if (!req.cluster?.id) throw new Error(`operation ${req.type} takes a lock but names no cluster`);
        const holder = await operationsRepo(tx).acquireLock(req.cluster.id, req.lock.service, id);
        if (holder) {
          const what = req.lock.service ? `${req.cluster.name}/${req.lock.service}` : `cluster ${req.cluster.name}`;
          // The holder's id travels with the error: a scheduled run records it when it is skipped.
          throw Object.assign(
            conflict(`Operation ${holder.id} (${holder.type}, ${holder.status}) is already changing ${what}; wait for it, or cancel it`),
            {
              holderOperationId: holder.id,
            },
          );
        }
      }
      await auditRepo(tx).record({
        actor: req.requestedBy,
        action: `${req.type}.requested`,
        target: [req.cluster?.name, req.service].filter(Boolean).join('/'),
        requestId: req.requestId,
        details: { operationId: id },
      });
    });
  }

  /** The first answer again for a repeated request; a different request under the key is refused. */
  async function replay(req: IdempotencyRequest, first: StoredIdempotencyKey) {
    if (first.method !== req.method || first.path !== req.path || first.requestHash !== req.requestHash) {
      throw keyReused(req, first);
    }
    let op = await operations.get(first.operationId);
    if (!op) throw notFound('Operation', first.operationId);
    // The first request may have answered 503 with its workflow unstarted: start it now.
    if (!op.runId && !op.finishedAt) op = await startWorkflow(op);
    logger.info({ operationId: op.id, idempotencyKey: req.key }, 'repeated request answered with its first operation');
    return { operation: view(op), ...first.answer };
  }

  return {
    view,

    /**
     * The first answer to a repeated request (same Idempotency-Key), if there was one. Services
     * ask before their own checks, which the first request's effects would now fail.
     */
    async replayed(req: IdempotencyRequest | undefined): Promise<{ operation: ReturnType<typeof view> } | undefined> {
      if (!req) return undefined;
      const first = await idempotencyRepo(pool).find(req.actor, req.key);
      return first ? replay(req, first) : undefined;
    },

    /**
     * Records an operation and starts its workflow; answers `{ operation, ...answer }`. With
     * `idempotency`, the key is claimed first in the same transaction: a request repeating a
     * live key gets the first operation (and answer) back, a different request under the
     * key a 422.
     */
    async start<W extends WorkflowName, A extends Record<string, unknown> = Record<never, never>>(
      req: StartOperation<W, A>,
    ): Promise<{ operation: ReturnType<typeof view> } & A> {
      const id = randomUUID();
      const answer = req.answer ?? ({} as A);
      try {
        await record(req, id, answer);
      } catch (err) {
        if (!(err instanceof KeyTaken)) throw err;
        return replay(req.idempotency!, err.first) as Promise<{ operation: ReturnType<typeof view> } & A>;
      }
      const op = await operations.get(id);
      if (!op) throw notFound('Operation', id);
      logger.info({ operationId: id, workflowId: op.workflowId, type: op.type, requestId: req.requestId }, 'operation requested');
      return { operation: view(await startWorkflow(op, req.requestId)), ...answer };
    },

    async get(id: string, opts: { attempts?: boolean } = {}) {
      const op = await operations.get(id);
      if (!op) throw notFound('Operation', id);
      const latest = await operations.steps(id);
      const finished = latest.filter((s) => s.status === 'SUCCEEDED' || s.status === 'SKIPPED').length;
      const percent =
        op.status === 'SUCCEEDED' ? 100 : op.progress?.total ? Math.min(99, Math.floor((100 * finished) / op.progress.total)) : null;
      return { ...view(op), percent, input: op.input, steps: opts.attempts ? await operations.attempts(id) : latest };
    },

    /** Delivers an operator decision to a HOLDING operation as a Temporal Update; its validator says no when it does not fit. */
    async decide(id: string, action: DecisionAction, actor: string) {
      const op = await operations.get(id);
      if (!op) throw notFound('Operation', id);
      if (op.finishedAt) throw conflict(`Operation ${id} already finished with status ${op.status}; there is nothing to decide`);
      if (op.status !== 'HOLDING') throw conflict(`Operation ${id} is ${op.status}, not HOLDING: no step waits for a decision`);
      try {
        await withDeadline(() => temporal.workflow.getHandle(op.workflowId).executeUpdate(decideUpdate, { args: [{ action }] }));
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          throw conflict(`Operation ${id} refused '${action}': ${(err.cause as Error | undefined)?.message ?? err.message}`);
        }
        if (err instanceof WorkflowNotFoundError) throw conflict(`Operation ${id} has no running workflow to take the decision`);
        throw temporalUnavailable(err, `the decision for operation ${id} was not delivered (is a worker running?); send it again`);
      }
      await auditRepo(pool).record({
        actor,
        action: 'operation.decision',
        target: op.workflowId,
        details: { operationId: id, decision: action },
      });
      return view((await operations.get(id)) ?? op);
    },

    async list(filter: {
      cluster?: string | undefined;
      service?: string | undefined;
      status?: string | undefined;
      limit: number;
      after?: [string, string] | undefined;
    }) {
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
          logger.info(
            { operationId: op.id, workflowId: op.workflowId, status: after.status },
            'resumed an operation whose start had been interrupted',
          );
        } catch (err) {
          logger.warn({ operationId: op.id, err }, 'could not resume an operation; it is tried again later');
        }
      }
      return started;
    },
  };
}

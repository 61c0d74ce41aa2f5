import { WorkflowNotFoundError, type WorkflowExecutionDescription } from '@temporalio/client';
import proto from '@temporalio/proto';
import { auditRepo } from '../../audit/repo.js';
import { clustersRepo } from '../../clusters/repo.js';
import { idempotencyRepo } from '../../../platform/http/idempotency-repo.js';
import { operationsRepo, type Operation, type OperationStatus } from '../repo.js';
import { mapBounded } from '../../../platform/concurrency.js';
import type { OperationError } from '../types.js';
import type { ActivityDeps } from '../../../platform/temporal/activity-deps.js';

/** Operations looked at per round, and Temporal calls in flight at once. */
const BATCH = 200;
const CONCURRENCY = 8;

export interface ReconcileResult {
  checked: number;
  /** Operations ended here because their workflow had ended without recording it. */
  ended: number;
  /** Operations whose workflow was reset and now runs under a new run id. */
  followed: number;
  clustersFailed: string[];
  keysPruned: number;
}

type Verdict =
  { kind: 'live' } | { kind: 'follow'; runId: string } | { kind: 'end'; status: OperationStatus; error?: OperationError; result?: unknown };

const CLOSE_EVENT = proto.temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;

export function createReconcileActivities({ pool, temporal, logger }: ActivityDeps) {
  const operations = operationsRepo(pool);

  /** The reason Temporal recorded when the run closed (terminate reason, failure message). */
  async function closeReason(workflowId: string, runId: string): Promise<string | undefined> {
    const { history } = await temporal.workflowService.getWorkflowExecutionHistory({
      namespace: temporal.options.namespace,
      execution: { workflowId, runId },
      historyEventFilterType: CLOSE_EVENT,
    });
    const event = history?.events?.[0];
    const reason =
      event?.workflowExecutionTerminatedEventAttributes?.reason ?? event?.workflowExecutionFailedEventAttributes?.failure?.message;
    return reason || undefined;
  }

  /** What Temporal says about an operation's workflow, as what to do with its row. */
  async function judge(op: Operation): Promise<Verdict> {
    let desc: WorkflowExecutionDescription;
    try {
      // Without a run id: the workflow's latest run, which is the one that counts after a reset.
      desc = await temporal.workflow.getHandle(op.workflowId).describe();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      return {
        kind: 'end',
        status: 'FAILED',
        error: {
          code: 'WORKFLOW_GONE',
          message: `workflow ${op.workflowId} no longer exists in Temporal (deleted, or past its retention)`,
        },
      };
    }
    const resetNote = desc.runId !== op.runId ? ` (run ${desc.runId}, after a reset from run ${op.runId})` : '';
    const because = async (what: string) => {
      const reason = await closeReason(op.workflowId, desc.runId);
      return `workflow ${what} in Temporal${resetNote}${reason ? `: ${reason}` : ''}`;
    };
    switch (desc.status.name) {
      case 'RUNNING':
        // A reset closes the recorded run and carries the operation on in a new one: follow it.
        return desc.runId === op.runId ? { kind: 'live' } : { kind: 'follow', runId: desc.runId };
      case 'CONTINUED_AS_NEW':
        // Its successor is about to start; the next round sees it.
        return { kind: 'live' };
      case 'TERMINATED':
        return { kind: 'end', status: 'FAILED', error: { code: 'WORKFLOW_TERMINATED', message: await because('was terminated') } };
      case 'TIMED_OUT':
        return { kind: 'end', status: 'FAILED', error: { code: 'WORKFLOW_TIMED_OUT', message: await because('timed out') } };
      case 'FAILED':
        return { kind: 'end', status: 'FAILED', error: { code: 'WORKFLOW_FAILED', message: await because('failed') } };
      case 'CANCELLED':
        return { kind: 'end', status: 'CANCELLED', error: { code: 'CANCELLED', message: await because('was cancelled') } };
      case 'COMPLETED':
        return { kind: 'end', status: 'SUCCEEDED', result: await temporal.workflow.getHandle(op.workflowId, desc.runId).result() };
      default:
        return { kind: 'live' };
    }
  }

  return {
    /**
     * Brings operations Postgres thinks are live in line with Temporal: ends those whose
     * workflow ended without recording it (terminated, timed out, deleted...), follows a
     * reset to its new run, marks FAILED the clusters such an ending left CREATING, and
     * prunes expired idempotency keys. Only unfinished rows are touched, and `finish`
     * never overwrites an outcome the workflow recorded in the meantime.
     */
    async reconcileOperations(): Promise<ReconcileResult> {
      const live = await operations.live(BATCH);
      const verdicts = await mapBounded(live, CONCURRENCY, async (op) => {
        try {
          return await judge(op);
        } catch (err) {
          // One unreadable workflow must not stop the round; the next round tries again.
          logger.warn({ operationId: op.id, workflowId: op.workflowId, err }, 'could not check an operation against Temporal');
          return { kind: 'live' } as const;
        }
      });
      let ended = 0;
      let followed = 0;
      for (const [i, verdict] of verdicts.entries()) {
        const op = live[i]!;
        if (verdict.kind === 'follow') {
          await operations.setRunId(op.id, verdict.runId);
          await auditRepo(pool).record({
            actor: 'reconciler',
            action: 'operation.run-followed',
            target: verdict.runId,
            operationId: op.id,
            details: { previousRunId: op.runId, message: `workflow run was reset to run ${verdict.runId}` },
          });
          logger.info(
            { operationId: op.id, previousRunId: op.runId, runId: verdict.runId },
            'workflow run was reset; following the new run',
          );
          followed++;
        } else if (verdict.kind === 'end') {
          // A workflow records its outcome before it closes, so a row finished by now was
          // finished by the workflow itself: leave it.
          if ((await operations.get(op.id))?.finishedAt) continue;
          await operations.finish(op.id, verdict.status, { result: verdict.result, error: verdict.error });
          await auditRepo(pool).record({
            actor: 'reconciler',
            action: 'operation.reconciled',
            target: op.workflowId,
            operationId: op.id,
            details: { status: verdict.status, ...(verdict.error ? { error: verdict.error } : {}) },
          });
          logger.warn({ operationId: op.id, status: verdict.status, error: verdict.error }, 'operation ended by the reconciler');
          ended++;
        }
      }
      const clustersFailed = await clustersRepo(pool).failAbandonedCreates();
      if (clustersFailed.length) logger.warn({ clusters: clustersFailed }, 'clusters whose creation failed marked FAILED');
      const keysPruned = await idempotencyRepo(pool).pruneExpired();
      return { checked: live.length, ended, followed, clustersFailed, keysPruned };
    },
  };
}

/**
 * recoverInstance: the restart of one instance a poll saw down, through the same engine and
 * steps as a service restart (stop, start, health). Nobody waits on an automatic restart, so a
 * failed step fails the recovery (freeing the service's lock) instead of holding for a
 * decision; the next poll tries again while the instance's budget lasts.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { createEngine } from '../../operations/workflow/engine.js';
import { runOperation } from '../../operations/workflow/run-operation.js';
import { db, onInstance } from '../../services/workflow/steps.js';
import type { RecoverInstanceInput } from '../types.js';

export async function recoverInstanceWorkflow(input: RecoverInstanceInput) {
  const { operationId, instanceId } = input;
  const engine = createEngine(operationId, {
    canRollback: false,
    noRollbackReason: 'a recovery only restarts an instance; there is nothing to undo',
  });
  return runOperation(operationId, async () => {
    const target = await db.recoveryTarget(instanceId);
    if (!target) return { recovered: false, reason: 'the instance is gone or no longer meant to run' };
    await engine.plan(3);
    await engine.phase(`recover ${target.role} on ${target.host}`);
    const ok = await onInstance(engine, operationId, 'recover', target, ['stop', 'start', 'health'], { tolerate: () => true });
    if (!ok) {
      throw ApplicationFailure.nonRetryable(`the restart of ${target.role} on ${target.host} failed; its steps say why`, 'RECOVERY_FAILED');
    }
    return { recovered: true, instance: instanceId, host: target.host, role: target.role };
  });
}

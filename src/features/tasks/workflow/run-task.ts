/**
 * A service task (a definition's custom command) on one instance of its role, on each, or
 * on the role's current leader; every run is a step of the engine, with its output tails.
 */
import { ActivityCancellationType, ApplicationFailure } from '@temporalio/workflow';
import { createEngine } from '../../operations/workflow/engine.js';
import { runOperation } from '../../operations/workflow/run-operation.js';
import { db, HOST_CONCURRENCY } from '../../services/workflow/steps.js';
import type { RunTaskInput } from '../types.js';
import { proxyHostActivities } from '../../operations/workflow/step-summary.js';

// A task may run long (a balancer for hours): the heartbeat, not the start-to-close, notices a dead worker.
const taskHost = proxyHostActivities({
  startToCloseTimeout: '25 hours',
  heartbeatTimeout: '20 seconds',
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3 },
});

export async function runTaskWorkflow(input: RunTaskInput) {
  const { operationId, serviceId, task } = input;
  const engine = createEngine(operationId, {
    canRollback: false,
    noRollbackReason: 'a task has nothing Sophon can undo; use retry, skip or abort',
  });
  return runOperation(operationId, async () => {
    const plan = await db.taskPlan({ serviceId, task, ...(input.hosts ? { hosts: input.hosts } : {}) });
    let targets = plan.instances;
    if (plan.where === 'leader') {
      const leader = await db.findLeader(serviceId, plan.role);
      targets = targets.filter((i) => i.id === leader);
      if (targets.length === 0) {
        throw ApplicationFailure.nonRetryable(
          leader ? `the leading ${plan.role} is not among the hosts asked for` : `no ${plan.role} leads now; check the service's health`,
          'NO_LEADER',
        );
      }
    } else if (plan.where === 'one') {
      targets = targets.slice(0, 1);
    }
    if (targets.length === 0)
      throw ApplicationFailure.nonRetryable(`the service has no ${plan.role} instance to run '${task}' on`, 'NOTHING_TO_RUN_ON');
    const phase = `task ${task}`;
    await engine.plan(targets.length);
    await engine.phase(phase);
    const skipped = new Set<string>();
    await engine.forEach(targets, HOST_CONCURRENCY, async (i) => {
      const ok = await engine.step({ host: i.host, role: i.role, phase, step: task }, () =>
        taskHost.runTask({ operationId, phase, instanceId: i.id, task, parameters: input.parameters }),
      );
      if (!ok) skipped.add(i.host);
    });
    return { task, where: plan.where, hosts: targets.map((i) => i.host), skippedHosts: [...skipped].sort() };
  });
}

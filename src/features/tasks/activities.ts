/**
 * Activities of service tasks (a definition's custom commands): which instances a task runs
 * on, and the run on one instance, recorded as a step with its output tails.
 */
import { notFound, SophonError } from '../../platform/errors.js';
import { taskOf, type ParameterValue, type ServiceDefinition, type TaskDefinition } from '../defs/index.js';
import { servicesRepo } from '../services/repo.js';
import type { TaskPlan, TaskPlanInput } from './types.js';
import type { ActivityDeps } from '../../platform/temporal/activity-deps.js';
import { targetOf } from '../hosts/activities.js';
import { inRollingOrder, loadInstance } from '../services/activities/steps.js';
import { runRoleCommand } from '../services/activities/on-host.js';
import { trackStep } from '../operations/steps.js';

export interface TaskStepInput {
  operationId: string;
  phase: string;
  instanceId: string;
  task: string;
  parameters: Record<string, ParameterValue>;
}

/** The task of a definition; a task removed from the catalog since the request is a definitive failure. */
function definedTask(def: ServiceDefinition, name: string): TaskDefinition {
  const task = taskOf(def, name);
  if (!task)
    throw new SophonError(
      'DEFINITION_INVALID',
      `${def.name} has no task '${name}'; its tasks are ${def.tasks.map((t) => t.name).join(', ') || 'none'}`,
    );
  return task;
}

export function createTaskActivities({ pool, ssh, catalog }: ActivityDeps) {
  const services = servicesRepo(pool);

  return {
    /** The instances of the task's role (on `hosts` when given), in rolling order. */
    async taskPlan(input: TaskPlanInput): Promise<TaskPlan> {
      const svc = await services.get(input.serviceId);
      if (!svc) throw notFound('Service', input.serviceId);
      const def = catalog.get(svc.name);
      const task = definedTask(def, input.task);
      const chosen = (await services.instances(svc.id)).filter(
        (i) => i.role === task.role && !i.leaving && (!input.hosts?.length || input.hosts.includes(i.hostname)),
      );
      return { where: task.where, role: task.role, instances: inRollingOrder(def, chosen) };
    },

    /** Runs the task's command on one instance; a non-zero exit fails the step for good (the operator decides). */
    async runTask(input: TaskStepInput): Promise<void> {
      const { def, inst, host, ctx } = await loadInstance(pool, catalog, input.instanceId);
      const task = definedTask(def, input.task);
      await trackStep(
        pool,
        { operationId: input.operationId, host: host.hostname, role: inst.role, phase: input.phase, step: task.name },
        async (output) => {
          const conn = await ssh.connect(targetOf(host));
          const result = await runRoleCommand(conn, def, task, { ...ctx, task: input.parameters }, output, `task '${task.name}'`);
          if (result.exitCode !== 0) {
            const err = new SophonError(
              'COMMAND_FAILED',
              `task '${task.name}' of ${def.name} on ${host.hostname} exited with ${result.exitCode}: ${result.stderr.trim().slice(-500)}`,
            );
            // Commands such as a balancer are not safe to re-run unasked: the operator decides.
            throw Object.assign(err, { retryable: false });
          }
          return { outcome: { exitCode: 0, message: `task '${task.name}' done` } };
        },
      );
    },
  };
}

/**
 * Service tasks, behind the routes: a task of the service's definition, its parameters
 * checked like service parameters and its hosts checked against the instances, runs as one
 * operation holding the service lock.
 */
import type { Pool } from '../../platform/db/pool.js';
import {
  resolveTaskParameters,
  taskOf,
  type Catalog,
  type ParameterValue,
  type ServiceDefinition,
  type TaskDefinition,
} from '../defs/index.js';
import { conflict, notFound } from '../../platform/errors.js';
import type { OperationsService } from '../operations/service.js';
import { findService, startServiceOperation } from '../services/service.js';
import type { Requester } from '../../platform/http/idempotency.js';
import { servicesRepo, type ServiceRow } from '../services/repo.js';
import { invalidField } from '../../platform/validation.js';
import { taskWorkflowIds, type RunTaskInput } from './types.js';

export interface TaskRequest {
  parameters?: Record<string, unknown> | undefined;
  hosts?: string[] | undefined;
}

export type TasksService = ReturnType<typeof createTasksService>;

const taskView = (t: TaskDefinition) => ({
  name: t.name,
  label: t.label,
  role: t.role,
  where: t.where,
  timeout: t.timeout,
  parameters: t.parameters.map((p) => ({
    name: p.name,
    type: p.type,
    ...(p.default === undefined ? {} : { default: p.default }),
    ...(p.description === undefined ? {} : { description: p.description }),
    ...(p.min === undefined ? {} : { min: p.min }),
    ...(p.max === undefined ? {} : { max: p.max }),
    ...(p.enum === undefined ? {} : { enum: p.enum }),
  })),
});

/**
 * Checks a task request against the definition and the service's instances; field paths
 * start with `base` (e.g. `action.` for a schedule). Answers the parameter values to run with.
 */
export async function checkTaskRequest(
  pool: Pool,
  def: ServiceDefinition,
  svc: ServiceRow,
  task: TaskDefinition,
  req: TaskRequest,
  base = '',
): Promise<Record<string, ParameterValue>> {
  const parameters = resolveTaskParameters(def, task, req.parameters ?? {}, `${base}parameters`);
  if (req.hosts?.length) {
    const placed = new Set((await servicesRepo(pool).instances(svc.id)).filter((i) => i.role === task.role).map((i) => i.hostname));
    req.hosts.forEach((h, i) => {
      if (!placed.has(h)) throw invalidField(`${base}hosts.${i}`, `${svc.name} has no ${task.role} on host '${h}'`);
    });
  }
  return parameters;
}

export function createTasksService({ pool, catalog, operations }: { pool: Pool; catalog: Catalog; operations: OperationsService }) {
  return {
    async list(clusterRef: string, serviceRef: string) {
      const { svc } = await findService(pool, clusterRef, serviceRef);
      return catalog.get(svc.name).tasks.map(taskView);
    },

    async run(clusterRef: string, serviceRef: string, taskName: string, req: TaskRequest, who: Requester) {
      const replay = await operations.replayed(who.idempotency);
      if (replay) return replay;
      const { cluster, svc } = await findService(pool, clusterRef, serviceRef);
      const def = catalog.get(svc.name);
      const task = taskOf(def, taskName);
      if (!task) throw notFound('Task', `${def.name}/${taskName}`);
      if (svc.status !== 'ACTIVE') throw conflict(`${svc.name} is ${svc.status}; tasks run on an ACTIVE service`);
      const parameters = await checkTaskRequest(pool, def, svc, task, req);
      return startServiceOperation(operations, cluster, svc.name, who, {
        type: 'service.task',
        workflowType: 'runTaskWorkflow',
        workflowId: (opId) => taskWorkflowIds.runTask(cluster.name, svc.name, task.name, opId),
        args: (opId): RunTaskInput & Record<string, unknown> => ({
          operationId: opId,
          serviceId: svc.id,
          task: task.name,
          parameters,
          ...(req.hosts?.length ? { hosts: req.hosts } : {}),
        }),
      });
    },
  };
}

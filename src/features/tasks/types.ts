import type { InstanceRef, ServiceOperationInput } from '../services/types.js';

/** A task of the service's definition with its checked parameter values; `hosts` narrows where it runs. */
export interface RunTaskInput extends ServiceOperationInput {
  task: string;
  parameters: Record<string, string | number | boolean>;
  hosts?: string[];
}

export interface TaskPlanInput {
  serviceId: string;
  task: string;
  hosts?: string[];
}

export interface TaskPlan {
  where: 'one' | 'each' | 'leader';
  role: string;
  /** Instances of the task's role, in rolling order. */
  instances: InstanceRef[];
}

export const taskWorkflowIds = {
  runTask: (cluster: string, service: string, task: string, operationId: string) => `task/${cluster}/${service}/${task}/${operationId}`,
};

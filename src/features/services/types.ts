/** Inputs, plans and ids of the service operations (deploy, action, remove) and what the others build on. */

/** Input of every service operation: ids only; activities read the rest from Postgres. */
export interface ServiceOperationInput {
  operationId: string;
  serviceId: string;
}

export const SERVICE_ACTIONS = ['start', 'stop', 'restart'] as const;
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

export interface RollingPolicy {
  batchSize: number;
  maxFailures: number;
  pauseSeconds: number;
}

export interface ServiceActionInput extends ServiceOperationInput {
  action: ServiceAction;
  roles?: string[];
  hosts?: string[];
  /** Rolling overrides; absent fields come from the definition. Absent: all at once. */
  rolling?: Partial<RollingPolicy>;
}

export interface ActionPlanInput {
  serviceId: string;
  action: ServiceAction;
  roles?: string[];
  hosts?: string[];
}

export interface InstanceRef {
  id: string;
  role: string;
  host: string;
  hostId: string;
  startOrder: number;
  /** The role's init steps this instance runs before its first start (deploy and scale-out plans). */
  init?: Array<{ step: number; name: string }>;
  /** Its init waits until the role's first instance runs (the role has a `where: others` step). */
  afterFirst?: boolean;
}

export interface ServicePlan {
  hosts: Array<{ hostId: string; hostname: string }>;
  instances: InstanceRef[];
}

export const serviceWorkflowIds = {
  deployService: (cluster: string, service: string, operationId: string) => `deploy/${cluster}/${service}/${operationId}`,
  serviceAction: (cluster: string, service: string, action: string, operationId: string) =>
    `${action}/${cluster}/${service}/${operationId}`,
  removeService: (cluster: string, service: string, operationId: string) => `remove/${cluster}/${service}/${operationId}`,
};

import type { InstanceRef, RollingPolicy, ServiceOperationInput } from '../services/types.js';

/** Applies the service's config version (set when the change was recorded); `fromVersion` is what a rollback returns to. */
export interface ReconfigureInput extends ServiceOperationInput {
  fromVersion: number;
}

export interface ReconfigurePlanInput {
  serviceId: string;
  /** Instance id → the version its files have, where that is ahead of what it records (a rollback). */
  running?: Record<string, number>;
}

export interface ReconfigurePlan {
  version: number;
  /** In rolling order; `files`: paths whose rendered bytes change. */
  instances: Array<InstanceRef & { files: string[]; action: 'restart' | 'reload' | 'none' }>;
  rolling: RollingPolicy;
  leaderRole: string | null;
  /** The definition moves the leadership before the leader goes down (absent in plans of older workers). */
  leaderHandoff?: boolean;
}

export const configWorkflowIds = {
  reconfigure: (cluster: string, service: string, operationId: string) => `reconfigure/${cluster}/${service}/${operationId}`,
  refresh: (cluster: string, service: string, operationId: string) => `refresh/${cluster}/${service}/${operationId}`,
};

/** Re-renders a service's files against what it reads now (its dependencies' members) and rolls the instances whose files differ. */
export interface RefreshInput extends ServiceOperationInput {
  /** The operation whose change made this refresh necessary; absent when an operator asked for it. */
  cause?: { operationId: string; service: string };
}

export interface RefreshPlan {
  /** In rolling order, the instances whose files differ from their host's; `files`: those paths. */
  instances: Array<InstanceRef & { files: string[]; restart: boolean }>;
  unchanged: number;
  rolling: RollingPolicy;
  leaderRole: string | null;
  /** The definition moves the leadership before the leader goes down (absent in plans of older workers). */
  leaderHandoff?: boolean;
}

/** A refresh started for a dependent service, or why it could not start. */
export interface FollowUp {
  service: string;
  operationId?: string;
  refused?: string;
}

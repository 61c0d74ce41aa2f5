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
}

export const configWorkflowIds = {
  reconfigure: (cluster: string, service: string, operationId: string) => `reconfigure/${cluster}/${service}/${operationId}`,
};

import type { InstanceRef, RollingPolicy, ServiceOperationInput } from '../services/types.js';

/** A scale: instance ids of the role's joining members (recorded at the request) and of the leaving ones. */
export interface ScaleServiceInput extends ServiceOperationInput {
  role: string;
  add: string[];
  remove: string[];
}

export interface ScalePlan {
  /** New members, in index order. */
  joining: InstanceRef[];
  /** Members before the scale, in rolling order. */
  peers: InstanceRef[];
  leaving: InstanceRef[];
  /** Members after the scale, in rolling order. */
  survivors: InstanceRef[];
  /** Hosts that get the service's package (no other instance of the service there). */
  installHosts: Array<{ hostId: string; hostname: string }>;
  /** Hosts whose service files go (no other instance of the service stays there). */
  removeHosts: Array<{ hostId: string; hostname: string }>;
  /** The definition's decommission steps for the role, by their index. */
  decommission: Array<{ index: number; name: string }>;
  membership: { peers: boolean; quorum: boolean };
  leaderRole: string | null;
  /** The definition moves the leadership before the leader goes down (absent in plans of older workers). */
  leaderHandoff?: boolean;
  rolling: RollingPolicy;
}

export const scaleWorkflowIds = {
  scaleService: (cluster: string, service: string, operationId: string) => `scale/${cluster}/${service}/${operationId}`,
};

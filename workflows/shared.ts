/**
 * Definitions shared by workflows and by the code that starts them (API, CLI, tests):
 * search attribute keys, workflow ids and the input types of each workflow.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_CLUSTER = defineSearchAttributeKey('SophonCluster', SearchAttributeType.KEYWORD);
export const SA_SERVICE = defineSearchAttributeKey('SophonService', SearchAttributeType.KEYWORD);
export const SA_OPERATION_TYPE = defineSearchAttributeKey('SophonOperationType', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [SA_CLUSTER, SA_SERVICE, SA_OPERATION_TYPE];

/** Error codes a workflow reports when an operation fails (carried as the failure's type). */
export interface OperationError {
  code: string;
  message: string;
}

export interface CreateClusterInput {
  operationId: string;
  clusterId: string;
  name: string;
}

/** The hosts come from the operation's rows (operation_hosts), so the input stays small. */
export interface BootstrapHostsInput {
  operationId: string;
  cluster: string;
  /** Only in runs started before hosts were read from the operation; kept for their replay. */
  hostIds?: string[];
}

export const BOOTSTRAP_STEPS = ['connect', 'facts', 'prerequisites', 'install-root'] as const;
export type BootstrapStep = (typeof BOOTSTRAP_STEPS)[number];

export interface BootstrapHostInput {
  operationId: string;
  hostId: string;
}

export const workflowIds = {
  createCluster: (cluster: string, operationId: string) => `cluster-create/${cluster}/${operationId}`,
  bootstrapHosts: (cluster: string, operationId: string) => `hosts-bootstrap/${cluster}/${operationId}`,
  bootstrapHost: (parentWorkflowId: string, hostname: string) => `${parentWorkflowId}/${hostname}`,
  // One per task queue: each Sophon installation sharing a Temporal namespace has its own.
  hostReachabilitySchedule: (taskQueue: string) => `sophon-host-reachability/${taskQueue}`,
  hostReachability: (taskQueue: string) => `host-reachability/${taskQueue}`,
};

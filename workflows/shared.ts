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

export const workflowIds = {
  createCluster: (cluster: string, operationId: string) => `cluster-create/${cluster}/${operationId}`,
};

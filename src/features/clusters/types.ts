export interface CreateClusterInput {
  operationId: string;
  clusterId: string;
  name: string;
}

export const clusterWorkflowIds = {
  createCluster: (cluster: string, operationId: string) => `cluster-create/${cluster}/${operationId}`,
};

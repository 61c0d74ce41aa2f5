// Every workflow the worker runs. The worker bundles this file.
export { createClusterWorkflow } from './create-cluster.js';

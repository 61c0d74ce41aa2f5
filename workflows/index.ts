// Every workflow the worker runs. The worker bundles this file.
export { bootstrapHostsWorkflow, bootstrapHostWorkflow } from './bootstrap-hosts.js';
export { createClusterWorkflow } from './create-cluster.js';
export { hostReachabilityWorkflow } from './host-reachability.js';
export { deployServiceWorkflow, removeServiceWorkflow, serviceActionWorkflow } from './services.js';
export { upgradeServiceWorkflow } from './upgrade.js';
export { reconfigureWorkflow } from './reconfigure.js';
export { reconcileOperationsWorkflow } from './reconcile.js';
export { pollClusterWorkflow } from './poll-cluster.js';
export { scaleServiceWorkflow } from './scale.js';
export { recoverInstanceWorkflow } from './recovery.js';
export { runTaskWorkflow } from './tasks.js';
export { maintenanceRunWorkflow } from './maintenance.js';
export { escalateAlertWorkflow } from './escalation.js';

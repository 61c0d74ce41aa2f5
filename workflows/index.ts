// Every workflow the worker runs. The worker bundles this file.
export { bootstrapHostsWorkflow, bootstrapHostWorkflow } from '../src/features/hosts/workflow/bootstrap-hosts.js';
export { createClusterWorkflow } from '../src/features/clusters/workflow/create-cluster.js';
export { hostReachabilityWorkflow } from '../src/features/hosts/workflow/host-reachability.js';
export { deployServiceWorkflow, removeServiceWorkflow, serviceActionWorkflow } from '../src/features/services/workflow/services.js';
export { upgradeServiceWorkflow } from '../src/features/upgrade/workflow/upgrade.js';
export { reconfigureWorkflow } from '../src/features/config/workflow/reconfigure.js';
export { refreshServiceWorkflow } from '../src/features/config/workflow/refresh.js';
export { reconcileOperationsWorkflow } from '../src/features/operations/workflow/reconcile.js';
export { pollClusterWorkflow } from '../src/features/monitoring/workflow/poll-cluster.js';
export { scaleServiceWorkflow } from '../src/features/scale/workflow/scale.js';
export { recoverInstanceWorkflow } from '../src/features/recovery/workflow/recover-instance.js';
export { runTaskWorkflow } from '../src/features/tasks/workflow/run-task.js';
export { maintenanceRunWorkflow } from '../src/features/maintenance/workflow/maintenance-run.js';
export { escalateAlertWorkflow } from '../src/features/notify/workflow/escalation.js';

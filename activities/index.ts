import { createClusterActivities } from './clusters.js';
import { createConfigActivities } from './config.js';
import type { ActivityDeps } from './deps.js';
import { withFailureMapping } from './failures.js';
import { createHostActivities } from './hosts.js';
import { createMonitoringActivities } from './monitoring.js';
import { createOperationActivities } from './operations.js';
import { createServiceActivities } from './services.js';
import { createReconcileActivities } from './reconcile.js';
import { createUpgradeActivities } from './upgrade.js';
import { createScaleActivities } from './scale.js';
import { createTaskActivities } from './tasks.js';
import { createMaintenanceActivities } from './maintenance.js';
import { createNotifyActivities } from './notify.js';
import { createAlertActivities } from './alerts.js';

export type { ActivityDeps } from './deps.js';

export function createActivities(deps: ActivityDeps) {
  return withFailureMapping({
    ...createOperationActivities(deps),
    ...createClusterActivities(deps),
    ...createHostActivities(deps),
    ...createServiceActivities(deps),
    ...createConfigActivities(deps),
    ...createReconcileActivities(deps),
    ...createMonitoringActivities(deps),
    ...createUpgradeActivities(deps),
    ...createScaleActivities(deps),
    ...createTaskActivities(deps),
    ...createMaintenanceActivities(deps),
    ...createNotifyActivities(deps),
    ...createAlertActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;

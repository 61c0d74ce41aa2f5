import { createClusterActivities } from '../src/features/clusters/activities.js';
import { createConfigActivities } from '../src/features/config/activities.js';
import { createRefreshActivities } from '../src/features/config/refresh-activities.js';
import type { ActivityDeps } from '../src/platform/temporal/activity-deps.js';
import { withFailureMapping } from '../src/platform/temporal/failures.js';
import { createHostActivities } from '../src/features/hosts/activities.js';
import { createMonitoringActivities } from '../src/features/monitoring/activities.js';
import { createOperationActivities } from '../src/features/operations/activities/bookkeeping.js';
import { createServiceActivities } from '../src/features/services/activities/steps.js';
import { createReconcileActivities } from '../src/features/operations/activities/reconcile.js';
import { createUpgradeActivities } from '../src/features/upgrade/activities.js';
import { createScaleActivities } from '../src/features/scale/activities.js';
import { createRecoveryActivities } from '../src/features/recovery/activities.js';
import { createTaskActivities } from '../src/features/tasks/activities.js';
import { createMaintenanceActivities } from '../src/features/maintenance/activities.js';
import { createNotifyActivities } from '../src/features/notify/activities.js';
import { createAlertActivities } from '../src/features/alerts/activities.js';

export type { ActivityDeps } from '../src/platform/temporal/activity-deps.js';

export function createActivities(deps: ActivityDeps) {
  return withFailureMapping({
    ...createOperationActivities(deps),
    ...createClusterActivities(deps),
    ...createHostActivities(deps),
    ...createServiceActivities(deps),
    ...createConfigActivities(deps),
    ...createRefreshActivities(deps),
    ...createReconcileActivities(deps),
    ...createMonitoringActivities(deps),
    ...createUpgradeActivities(deps),
    ...createScaleActivities(deps),
    ...createRecoveryActivities(deps),
    ...createTaskActivities(deps),
    ...createMaintenanceActivities(deps),
    ...createNotifyActivities(deps),
    ...createAlertActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;

import type { RollingPolicy, ServiceOperationInput } from '../services/types.js';

export interface UpgradeServiceInput extends ServiceOperationInput {
  /** The version every instance ends on; older than the installed one for a downgrade. */
  version: string;
  /** Rolling overrides; absent fields come from the definition. */
  rolling?: Partial<RollingPolicy>;
}

export const upgradeWorkflowIds = {
  upgradeService: (cluster: string, service: string, operationId: string) => `upgrade/${cluster}/${service}/${operationId}`,
};

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
  /** For the activities' summaries in the Temporal UI; absent in runs started before it was passed. */
  hostname?: string;
}

export const hostWorkflowIds = {
  bootstrapHosts: (cluster: string, operationId: string) => `hosts-bootstrap/${cluster}/${operationId}`,
  bootstrapHost: (parentWorkflowId: string, hostname: string) => `${parentWorkflowId}/${hostname}`,
  // One per task queue: each Sophon installation sharing a Temporal namespace has its own.
  hostReachabilitySchedule: (taskQueue: string) => `sophon-host-reachability/${taskQueue}`,
  hostReachability: (taskQueue: string) => `host-reachability/${taskQueue}`,
};

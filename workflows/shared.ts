/**
 * Definitions shared by workflows and by the code that starts them (API, CLI, tests):
 * search attribute keys, workflow ids and the input types of each workflow.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_CLUSTER = defineSearchAttributeKey('SophonCluster', SearchAttributeType.KEYWORD);
export const SA_SERVICE = defineSearchAttributeKey('SophonService', SearchAttributeType.KEYWORD);
export const SA_OPERATION_TYPE = defineSearchAttributeKey('SophonOperationType', SearchAttributeType.KEYWORD);
/** What started a run: an operator's `operation` (and its per-host children), a `periodic` schedule, or an alert's `escalation`. */
export const SA_KIND = defineSearchAttributeKey('SophonKind', SearchAttributeType.KEYWORD);
export type SophonKind = 'operation' | 'periodic' | 'escalation';
export const SEARCH_ATTRIBUTES = [SA_CLUSTER, SA_SERVICE, SA_OPERATION_TYPE, SA_KIND];

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
  /** For the activities' summaries in the Temporal UI; absent in runs started before it was passed. */
  hostname?: string;
}

/** Input of every service operation: ids only; activities read the rest from Postgres. */
export interface ServiceOperationInput {
  operationId: string;
  serviceId: string;
}

export const SERVICE_ACTIONS = ['start', 'stop', 'restart'] as const;
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

export interface RollingPolicy {
  batchSize: number;
  maxFailures: number;
  pauseSeconds: number;
}

export interface ServiceActionInput extends ServiceOperationInput {
  action: ServiceAction;
  roles?: string[];
  hosts?: string[];
  /** Rolling overrides; absent fields come from the definition. Absent: all at once. */
  rolling?: Partial<RollingPolicy>;
}

export interface UpgradeServiceInput extends ServiceOperationInput {
  /** The version every instance ends on; older than the installed one for a downgrade. */
  version: string;
  /** Rolling overrides; absent fields come from the definition. */
  rolling?: Partial<RollingPolicy>;
}

/** A scale: instance ids of the role's joining members (recorded at the request) and of the leaving ones. */
export interface ScaleServiceInput extends ServiceOperationInput {
  role: string;
  add: string[];
  remove: string[];
}

export interface ScalePlan {
  /** New members, in index order. */
  joining: InstanceRef[];
  /** Members before the scale, in rolling order. */
  peers: InstanceRef[];
  leaving: InstanceRef[];
  /** Members after the scale, in rolling order. */
  survivors: InstanceRef[];
  /** Hosts that get the service's package (no other instance of the service there). */
  installHosts: Array<{ hostId: string; hostname: string }>;
  /** Hosts whose service files go (no other instance of the service stays there). */
  removeHosts: Array<{ hostId: string; hostname: string }>;
  /** The definition's decommission steps for the role, by their index. */
  decommission: Array<{ index: number; name: string }>;
  membership: { peers: boolean; quorum: boolean };
  leaderRole: string | null;
  rolling: RollingPolicy;
}

export interface ActionPlanInput {
  serviceId: string;
  action: ServiceAction;
  roles?: string[];
  hosts?: string[];
}

export interface InstanceRef {
  id: string;
  role: string;
  host: string;
  hostId: string;
  startOrder: number;
}

export interface ServicePlan {
  hosts: Array<{ hostId: string; hostname: string }>;
  instances: InstanceRef[];
}

/** Applies the service's config version (set when the change was recorded); `fromVersion` is what a rollback returns to. */
export interface ReconfigureInput extends ServiceOperationInput {
  fromVersion: number;
}

export interface ReconfigurePlanInput {
  serviceId: string;
  /** Instance id → the version its files have, where that is ahead of what it records (a rollback). */
  running?: Record<string, number>;
}

export interface ReconfigurePlan {
  version: number;
  /** In rolling order; `files`: paths whose rendered bytes change. */
  instances: Array<InstanceRef & { files: string[]; action: 'restart' | 'reload' | 'none' }>;
  rolling: RollingPolicy;
  leaderRole: string | null;
}

/** A task of the service's definition with its checked parameter values; `hosts` narrows where it runs. */
export interface RunTaskInput extends ServiceOperationInput {
  task: string;
  parameters: Record<string, string | number | boolean>;
  hosts?: string[];
}

export interface TaskPlanInput {
  serviceId: string;
  task: string;
  hosts?: string[];
}

export interface TaskPlan {
  where: 'one' | 'each' | 'leader';
  role: string;
  /** Instances of the task's role, in rolling order. */
  instances: InstanceRef[];
}

export const workflowIds = {
  createCluster: (cluster: string, operationId: string) => `cluster-create/${cluster}/${operationId}`,
  bootstrapHosts: (cluster: string, operationId: string) => `hosts-bootstrap/${cluster}/${operationId}`,
  deployService: (cluster: string, service: string, operationId: string) => `deploy/${cluster}/${service}/${operationId}`,
  serviceAction: (cluster: string, service: string, action: string, operationId: string) => `${action}/${cluster}/${service}/${operationId}`,
  upgradeService: (cluster: string, service: string, operationId: string) => `upgrade/${cluster}/${service}/${operationId}`,
  scaleService: (cluster: string, service: string, operationId: string) => `scale/${cluster}/${service}/${operationId}`,
  removeService: (cluster: string, service: string, operationId: string) => `remove/${cluster}/${service}/${operationId}`,
  reconfigure: (cluster: string, service: string, operationId: string) => `reconfigure/${cluster}/${service}/${operationId}`,
  runTask: (cluster: string, service: string, task: string, operationId: string) => `task/${cluster}/${service}/${task}/${operationId}`,
  bootstrapHost: (parentWorkflowId: string, hostname: string) => `${parentWorkflowId}/${hostname}`,
  // One per task queue: each Sophon installation sharing a Temporal namespace has its own.
  hostReachabilitySchedule: (taskQueue: string) => `sophon-host-reachability/${taskQueue}`,
  hostReachability: (taskQueue: string) => `host-reachability/${taskQueue}`,
  reconcileSchedule: (taskQueue: string) => `sophon-reconcile/${taskQueue}`,
  reconcile: (taskQueue: string) => `reconcile-operations/${taskQueue}`,
  pollSchedule: (taskQueue: string, clusterId: string) => `sophon-poll/${taskQueue}/${clusterId}`,
  // Temporal appends each firing's time to the workflow id of a schedule's action.
  maintenanceSchedulePrefix: (taskQueue: string) => `sophon-maintenance/${taskQueue}/`,
  maintenanceSchedule: (taskQueue: string, scheduleId: string) => `sophon-maintenance/${taskQueue}/${scheduleId}`,
  maintenanceRun: (taskQueue: string, scheduleId: string) => `maintenance-run/${taskQueue}/${scheduleId}`,
  pollCluster: (taskQueue: string, clusterId: string) => `poll-cluster/${taskQueue}/${clusterId}`,
  // Per instance and attempt, not per operation: a repeated poll cannot start a second recovery.
  recoverInstance: (cluster: string, service: string, instanceId: string, attempt: number) => `recover/${cluster}/${service}/${instanceId}/${attempt}`,
};

/** A recovery: restart one instance seen down (started by a poll). */
export interface RecoverInstanceInput extends ServiceOperationInput {
  instanceId: string;
}

/** What auto-recovery did in one poll. */
export interface RecoveryCounts {
  /** Recover operations started. */
  started: number;
  /** Instances not recovered this poll because another operation held the service (named in the poll record). */
  skipped: number;
  /** Instances whose recovery from an earlier poll still runs. */
  inProgress: number;
  /** Instances left down: their restarts in the last hour reached the budget. */
  budgetSpent: number;
}

/** A whole poll's counts: its chunks' summed, and the chunks that failed. */
export interface PollTotals extends PollCounts {
  chunkFailures: number;
}

/** A whole poll: the counts of its chunks and what auto-recovery did. */
export interface PollResult extends PollTotals {
  recovery: RecoveryCounts;
}

/** Input of a cluster's poll: the id only; targets come from Postgres, results go there. */
export interface PollClusterInput {
  clusterId: string;
}

/** Targets (role instances) per poll activity. */
export const POLL_CHUNK_SIZE = 200;

export interface PollChunkInput {
  clusterId: string;
  chunk: number;
}

/** What one chunk (and a whole poll) did: counts only, so histories stay small. */
export interface PollCounts {
  targets: number;
  up: number;
  down: number;
  scrapes: number;
  scrapeFailures: number;
  /** Sample lines of the successful scrapes (counted, not parsed: the poll parses what rules read). */
  samples: number;
}

/** Input of a maintenance schedule's run: the schedule's id; its action comes from Postgres. */
export interface MaintenanceRunInput {
  scheduleId: string;
}

/** What a run did: the operation it started (or the one that kept it from starting), and how it ended. */
export interface MaintenanceRunResult {
  operationId: string | null;
  status: string;
  reason: string | null;
}

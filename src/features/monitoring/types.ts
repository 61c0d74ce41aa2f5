import type { RecoveryCounts } from '../recovery/types.js';

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

export const monitoringWorkflowIds = {
  pollSchedule: (taskQueue: string, clusterId: string) => `sophon-poll/${taskQueue}/${clusterId}`,
  pollCluster: (taskQueue: string, clusterId: string) => `poll-cluster/${taskQueue}/${clusterId}`,
};

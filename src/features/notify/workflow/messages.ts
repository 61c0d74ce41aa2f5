/**
 * Messages of an alert's escalation chain (`escalateAlertWorkflow`), shared by the workflow,
 * the escalation client and anyone signalling from the Temporal UI.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

/** One chain per alert: a second start with the same id is refused by Temporal, so it is a no-op. */
export const escalationWorkflowId = (alertId: string) => `escalate/${alertId}`;

/** The workflow's whole input: ids only; the alert, policy and channels are read from Postgres. */
export interface EscalateAlertInput {
  alertId: string;
}

/** `ack` `{actor, note?}`: sent after the alert row is set acknowledged; stops further steps. */
export interface AckMessage {
  actor: string;
  note?: string;
}
export const ackSignal = defineSignal<[AckMessage]>('ack');

/** `resolve` `{actor}`: sent after the alert row is set resolved; resolved notices go out, then the chain ends. */
export interface ResolveMessage {
  actor: string;
}
export const resolveSignal = defineSignal<[ResolveMessage]>('resolve');

export type EscalationPhase = 'starting' | 'notifying' | 'waiting' | 'chain-done' | 'acknowledged' | 'resolving';

/** `progress`: where the chain is (round and step are 1-based; 0 before the first step). */
export interface EscalationProgress {
  phase: EscalationPhase;
  round: number;
  step: number;
}
export const progressQuery = defineQuery<EscalationProgress>('progress');

/** How a chain ended. */
export interface EscalationOutcome {
  outcome: 'resolved' | 'no-policy' | 'alert-missing';
  /** Firing notifications delivered by this run. */
  sent: number;
  failed: number;
}

/** Search attributes every Sophon workflow carries, so the Temporal UI can filter runs. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_CLUSTER = defineSearchAttributeKey('SophonCluster', SearchAttributeType.KEYWORD);
export const SA_SERVICE = defineSearchAttributeKey('SophonService', SearchAttributeType.KEYWORD);
export const SA_OPERATION_TYPE = defineSearchAttributeKey('SophonOperationType', SearchAttributeType.KEYWORD);
/** What started a run: an operator's `operation` (and its per-host children), a `periodic` schedule, or an alert's `escalation`. */
export const SA_KIND = defineSearchAttributeKey('SophonKind', SearchAttributeType.KEYWORD);
export type SophonKind = 'operation' | 'periodic' | 'escalation';
export const SEARCH_ATTRIBUTES = [SA_CLUSTER, SA_SERVICE, SA_OPERATION_TYPE, SA_KIND];

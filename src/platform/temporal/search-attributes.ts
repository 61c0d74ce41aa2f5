/** Search attributes every Sophon workflow carries, so the Temporal UI can filter runs. */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SA_CLUSTER = defineSearchAttributeKey('SophonCluster', SearchAttributeType.KEYWORD);
export const SA_SERVICE = defineSearchAttributeKey('SophonService', SearchAttributeType.KEYWORD);
export const SA_OPERATION_TYPE = defineSearchAttributeKey('SophonOperationType', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [SA_CLUSTER, SA_SERVICE, SA_OPERATION_TYPE];

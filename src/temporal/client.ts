import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Config } from '../config.js';
import { SophonError } from '../errors.js';
import { SA_CLUSTER, SEARCH_ATTRIBUTES } from '../../workflows/shared.js';

export async function connectClient(address: string, namespace: string): Promise<{ client: Client; connection: Connection }> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: '10 seconds' });
    return { client: new Client({ connection, namespace }), connection };
  } catch (err) {
    throw new SophonError(
      'DEPENDENCY_UNAVAILABLE',
      `Cannot reach the Temporal server at ${address} (${(err as Error).message}); check TEMPORAL_ADDRESS`,
    );
  }
}

/**
 * Registers Sophon's search attributes in the namespace when they are missing, so the
 * Temporal UI can filter runs by cluster, service and operation type.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTES.filter((key) => !known.has(key.name));
  if (missing.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(
      missing.map((key) => [key.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
    ),
  });
}

const uiWorkflows = (config: Pick<Config, 'temporal'>) =>
  `${(config.temporal.uiUrl ?? `http://localhost:${config.temporal.uiPort}`).replace(/\/$/, '')}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows`;

/** The Temporal UI page of one workflow run. */
export function temporalUiUrl(config: Pick<Config, 'temporal'>, workflowId: string, runId?: string | null): string {
  const run = runId ? `/${encodeURIComponent(runId)}` : '';
  return `${uiWorkflows(config)}/${encodeURIComponent(workflowId)}${run}/history`;
}

/** The Temporal UI's list of every run that touched a cluster. */
export function temporalUiClusterUrl(config: Pick<Config, 'temporal'>, cluster: string): string {
  return `${uiWorkflows(config)}?query=${encodeURIComponent(`${SA_CLUSTER.name}="${cluster}"`)}`;
}

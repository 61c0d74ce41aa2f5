import { readFileSync } from 'node:fs';
import { Client, Connection, isGrpcDeadlineError, type TLSConfig } from '@temporalio/client';
import proto from '@temporalio/proto';
import type { Config } from '../settings.js';
import { SophonError } from '../errors.js';
import { SA_CLUSTER, SEARCH_ATTRIBUTES } from './search-attributes.js';

/** Reads a file named by a TEMPORAL_* variable, saying which one when it cannot. */
function readSetting(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SophonError(
      'CONFIG_INVALID',
      `${variable}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      [{ path: variable, message: `cannot read ${file}` }],
    );
  }
}

/**
 * TLS (server CA, mTLS client certificate, server name) and API key for the Temporal
 * connections of the API and the workers, from TEMPORAL_TLS* and TEMPORAL_API_KEY[_FILE].
 * The same options suit the client's Connection and the worker's NativeConnection.
 */
export function temporalConnectionOptions(config: Pick<Config, 'temporal'>): { tls?: TLSConfig | boolean; apiKey?: string } {
  const { tls, apiKey, apiKeyFile } = config.temporal;
  const key = apiKey ?? (apiKeyFile ? readSetting('TEMPORAL_API_KEY_FILE', apiKeyFile).toString('utf8').trim() : undefined);
  const out: { tls?: TLSConfig | boolean; apiKey?: string } = key ? { apiKey: key } : {};
  if (tls.enabled === undefined) return out;
  if (!tls.enabled) return { ...out, tls: false };
  const settings: TLSConfig = {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(tls.caFile ? { serverRootCACertificate: readSetting('TEMPORAL_TLS_CA_FILE', tls.caFile) } : {}),
    ...(tls.certFile && tls.keyFile
      ? {
          clientCertPair: {
            crt: readSetting('TEMPORAL_TLS_CERT_FILE', tls.certFile),
            key: readSetting('TEMPORAL_TLS_KEY_FILE', tls.keyFile),
          },
        }
      : {}),
  };
  return { ...out, tls: Object.keys(settings).length ? settings : true };
}

export async function connectClient(
  address: string,
  namespace: string,
  options: { tls?: TLSConfig | boolean; apiKey?: string } = {},
): Promise<{ client: Client; connection: Connection }> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: '10 seconds', ...options });
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

/**
 * Temporal calls made for a request: each has a deadline, and one that fails becomes a 503
 * naming Temporal and the consequence (a SophonError of Sophon's own passes as it is).
 */
export function temporalCalls(temporal: Client, timeoutMs: number) {
  return {
    withDeadline: <T>(fn: () => Promise<T>) => temporal.withDeadline(Date.now() + timeoutMs, fn),
    temporalUnavailable(err: unknown, consequence: string): SophonError {
      if (err instanceof SophonError) return err;
      const reason = isGrpcDeadlineError(err) ? `no answer within ${timeoutMs / 1000} s` : (err as Error).message;
      return new SophonError('DEPENDENCY_UNAVAILABLE', `Temporal is unavailable (${reason}); ${consequence}`);
    },
  };
}

import type { Fleet } from '../../fleet/fleet.js';
import { createSshPool, type SshPool, type SshPoolDeps, type SshTarget } from '../../../src/ssh/index.js';

/** Target for fleet host i, with the fleet's client key as credential 'fleet'. */
export function targetFor(fleet: Fleet, i: number, extra: Partial<SshTarget> = {}): SshTarget {
  const host = fleet.hosts[i];
  if (host === undefined) throw new Error(`no host ${i}`);
  return { host: host.name, address: host.address, port: host.port, credential: 'fleet', cluster: 'test', ...extra };
}

export function poolFor(fleet: Fleet, deps: Partial<SshPoolDeps> = {}): SshPool {
  return createSshPool({
    resolveCredential: () => Promise.resolve({ username: fleet.username, privateKey: fleet.clientKey }),
    connectTimeoutMs: 3000,
    keepaliveIntervalMs: 1000,
    ...deps,
  });
}

/** Resolves with the error a promise rejected with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

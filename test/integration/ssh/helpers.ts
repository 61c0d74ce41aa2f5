import type { Fleet } from '../../fleet/fleet.js';
import { createSshPool, type SshPool, type SshPoolDeps, type SshTarget } from '../../../src/platform/ssh/index.js';

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

/**
 * Base address of a test file's fleet: 127.<net>.<block>.1. Each test file uses its own block;
 * SOPHON_TEST_NET (second octet, default 0) separates whole test runs on one machine.
 */
export function fleetBase(block: number): string {
  const net = Number(process.env.SOPHON_TEST_NET ?? '0');
  if (!Number.isInteger(net) || net < 0 || net > 255) throw new Error(`SOPHON_TEST_NET must be 0-255, got ${process.env.SOPHON_TEST_NET}`);
  return `127.${net}.${block}.1`;
}

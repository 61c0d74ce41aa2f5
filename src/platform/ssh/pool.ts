/**
 * Pooled SSH access to hosts: one ssh2 connection per host (and credential and pinned key),
 * reused by every command, with keepalive, a cap on concurrent channels, per-command
 * timeouts that kill the remote process group, bounded output capture and typed errors.
 */
import { Client } from 'ssh2';
import { cancelled, Connection, type ConnectionSettings } from './connection.js';
import { SshError } from './errors.js';
import { fingerprint } from './fingerprint.js';
import type { SshLogger, SshPool, SshPoolDeps, SshTarget } from './types.js';

const noopLogger: SshLogger = { debug: () => undefined, warn: () => undefined };

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export function createSshPool(deps: SshPoolDeps): SshPool {
  const logger = deps.logger ?? noopLogger;
  const connectTimeoutMs = deps.connectTimeoutMs ?? 15_000;
  const keepaliveIntervalMs = deps.keepaliveIntervalMs ?? 10_000;
  const keepaliveCountMax = deps.keepaliveCountMax ?? 3;
  const live = new Set<Connection>();
  const settings: ConnectionSettings = {
    logger,
    maxChannels: deps.maxChannelsPerHost ?? 8,
    idleTimeoutMs: deps.idleTimeoutMs ?? 300_000,
    defaultTimeoutMs: deps.defaultCommandTimeoutMs ?? 600_000,
    defaultCaptureBytes: deps.defaultMaxCaptureBytes ?? 64 * 1024,
    live,
  };

  /** Pending or established connection per key; a closed one is replaced on the next connect. */
  const connections = new Map<string, Promise<Connection>>();
  let connectionsOpened = 0;

  const keyOf = (t: SshTarget) => [t.credential, t.address, t.port ?? 22, t.hostKeyFingerprint ?? 'tofu'].join('|');

  async function open(target: SshTarget): Promise<Connection> {
    const port = target.port ?? 22;
    const credential = await deps.resolveCredential(target.credential);
    const endpoint = `${credential.username}@${target.address}:${port}`;
    const pinned = target.hostKeyFingerprint;
    const client = new Client();
    let seen: string | undefined;
    let connection: Connection | undefined;

    return new Promise<Connection>((resolve, reject) => {
      let settled = false;
      const fail = (error: SshError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.destroy();
        logger.debug({ endpoint, code: error.code }, 'ssh connect failed');
        reject(error);
      };
      // Our own deadline covers TCP connect, banner, key exchange and authentication:
      // a host that accepts TCP but never answers (frozen sshd) fails here, never hangs.
      const timer = setTimeout(
        () =>
          fail(
            new SshError(
              'SSH_TIMEOUT',
              `${endpoint} (host ${target.host}) did not complete the SSH handshake within ${connectTimeoutMs} ms: the host or its sshd is hung, or the network drops packets`,
              endpoint,
            ),
          ),
        connectTimeoutMs,
      );

      client.on('ready', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        connectionsOpened++;
        // Commands are small request/response exchanges; Nagle's algorithm only adds latency.
        client.setNoDelay(true);
        connection = new Connection(settings, target, endpoint, seen ?? '', client);
        logger.debug({ endpoint, hostKey: seen }, 'ssh connected');
        resolve(connection);
      });
      client.on('error', (error: Error & { level?: string; code?: string }) => {
        if (connection !== undefined) {
          connection.lost(error.message);
          return;
        }
        fail(connectError(error));
      });
      client.on('close', () => {
        if (connection !== undefined) connection.lost('the server closed the connection');
        else
          fail(
            new SshError('SSH_CONNECTION_LOST', `${endpoint} (host ${target.host}) closed the connection during the handshake`, endpoint),
          );
      });

      const connectError = (error: Error & { level?: string; code?: string }): SshError => {
        if (pinned !== undefined && seen !== undefined && seen !== pinned) {
          const cluster = target.cluster ?? '<cluster>';
          return new SshError(
            'HOST_KEY_CHANGED',
            `host key changed — possible impersonation: ${target.host} (${target.address}:${port}) presented ${seen}, but ${pinned} is pinned. ` +
              `Sophon refused to connect. If the host was reinstalled or its key was rotated on purpose, re-pin it with ` +
              `POST /api/v1/clusters/${cluster}/hosts/${target.host}/repin-host-key`,
            endpoint,
          );
        }
        if (error.level === 'client-authentication') {
          return new SshError(
            'SSH_AUTH_REFUSED',
            `SSH authentication refused for ${credential.username}@${target.address}:${port} (host ${target.host}): the server did not accept the private key of credential '${target.credential}'. ` +
              `Add its public key to ~${credential.username}/.ssh/authorized_keys on the host, or assign the right credential.`,
            endpoint,
            { cause: error },
          );
        }
        if (error.code !== undefined && UNREACHABLE_CODES.has(error.code)) {
          return new SshError(
            'SSH_UNREACHABLE',
            `cannot reach ${target.host} at ${target.address}:${port} (${error.code}): is the host up, sshd running and the port open?`,
            endpoint,
            { cause: error },
          );
        }
        if (error.code === 'ETIMEDOUT' || error.level === 'client-timeout') {
          return new SshError('SSH_TIMEOUT', `${endpoint} (host ${target.host}) timed out: ${error.message}`, endpoint, { cause: error });
        }
        return new SshError('SSH_CONNECTION_LOST', `connection to ${endpoint} (host ${target.host}) failed: ${error.message}`, endpoint, {
          cause: error,
        });
      };

      try {
        client.connect({
          host: target.address,
          port,
          username: credential.username,
          privateKey: credential.privateKey,
          passphrase: credential.passphrase,
          readyTimeout: connectTimeoutMs + 5000,
          keepaliveInterval: keepaliveIntervalMs,
          keepaliveCountMax,
          hostVerifier: (key: Buffer) => {
            seen = fingerprint(key);
            return pinned === undefined || seen === pinned;
          },
        });
      } catch (error) {
        // ssh2 parses the private key synchronously; the message never contains the key.
        fail(
          new SshError(
            'SSH_CREDENTIAL_INVALID',
            `the private key of credential '${target.credential}' cannot be used: ${(error as Error).message}`,
            endpoint,
          ),
        );
      }
    });
  }

  async function connect(target: SshTarget): Promise<Connection> {
    const key = keyOf(target);
    const existing = connections.get(key);
    if (existing !== undefined) {
      const connection = await existing;
      if (!connection.closed) return connection;
      if (connections.get(key) === existing) connections.delete(key);
    }
    const pending = connections.get(key) ?? open(target);
    connections.set(key, pending);
    pending.then(
      (connection) => {
        // A first-use connection also serves the key it presented: once that key is pinned,
        // the next step reuses it instead of opening a second connection to the same host.
        if (target.hostKeyFingerprint !== undefined) return;
        const pinnedKey = keyOf({ ...target, hostKeyFingerprint: connection.hostKeyFingerprint });
        if (!connections.has(pinnedKey)) connections.set(pinnedKey, pending);
      },
      () => {
        if (connections.get(key) === pending) connections.delete(key);
      },
    );
    return pending;
  }

  return {
    connect,
    async exec(target, command, options) {
      // A cancelled caller does not even connect.
      if (options?.signal?.aborted) throw cancelled(target.host, `${target.address}:${target.port ?? 22}`, command, false);
      return (await connect(target)).exec(command, options);
    },
    async close(target) {
      const pending = connections.get(keyOf(target));
      if (pending === undefined) return;
      (await pending.catch(() => undefined))?.close();
    },
    closeAll() {
      for (const pending of connections.values())
        void pending.then(
          (c) => c.close(),
          () => undefined,
        );
      connections.clear();
    },
    stats() {
      return { connectionsOpened, open: live.size };
    },
  };
}

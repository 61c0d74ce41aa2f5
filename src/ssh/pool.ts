/**
 * Pooled SSH access to hosts: one ssh2 connection per host (and credential and pinned key),
 * reused by every command, with keepalive, a cap on concurrent channels, per-command
 * timeouts that kill the remote process group, bounded output capture and typed errors.
 */
import { Client, type ClientChannel, type SFTPWrapper } from 'ssh2';
import { createOutputCapture, type OutputCapture } from './capture.js';
import { SshError } from './errors.js';
import { fingerprint } from './fingerprint.js';
import { createLimiter, type Limiter } from './limiter.js';
import { sh, shellQuote, type ShellCommand } from './quote.js';

/** Resolved by the caller from the credential store; never logged. */
export interface Credential {
  username: string;
  privateKey: string | Buffer;
  passphrase?: string;
}

export interface SshTarget {
  /** Host name in the inventory, used in messages. */
  host: string;
  address: string;
  port?: number;
  /** Reference handed to `resolveCredential` (e.g. a credential id). */
  credential: string;
  /** Pinned host key fingerprint (`SHA256:...`); absent means trust on first use. */
  hostKeyFingerprint?: string;
  /** Cluster name, used in the re-pin hint of a host key mismatch. */
  cluster?: string;
}

export interface SshLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface SshPoolDeps {
  resolveCredential(ref: string): Promise<Credential>;
  logger?: SshLogger;
  /** OpenSSH allows 10 sessions per connection (MaxSessions); stay below to leave room for kills. */
  maxChannelsPerHost?: number;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Close a connection after this long without a channel in use. */
  idleTimeoutMs?: number;
  defaultCommandTimeoutMs?: number;
  defaultMaxCaptureBytes?: number;
}

export interface ExecOptions {
  /** Whole-command budget, queueing for a channel included. */
  timeoutMs?: number;
  /** Bytes kept per stream (head and tail); the middle of longer output is omitted. */
  maxCaptureBytes?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  stdin?: string | Buffer;
  /** After SIGTERM on timeout or cancellation, how long to wait before SIGKILL. */
  killGraceMs?: number;
  /**
   * Aborting it kills the remote process group like a timeout does and rejects with
   * COMMAND_CANCELLED; an already-aborted signal rejects without opening a channel.
   */
  signal?: AbortSignal;
}

export interface ExecResult {
  /** Null when the process died of a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  stdoutBytes: number;
  stderrBytes: number;
  durationMs: number;
}

export interface SshConnection {
  readonly target: SshTarget;
  /** `user@address:port` */
  readonly endpoint: string;
  /** Fingerprint of the key the host presented (what to pin after trust on first use). */
  readonly hostKeyFingerprint: string;
  readonly closed: boolean;
  exec(command: ShellCommand, options?: ExecOptions): Promise<ExecResult>;
  /** Like exec, but a non-zero exit becomes a COMMAND_FAILED error. */
  run(command: ShellCommand, options?: ExecOptions): Promise<ExecResult>;
  /**
   * Runs `fn` with an SFTP session that holds one channel slot; bounded by `timeoutMs`.
   * Aborting `signal` ends the session (and so any transfer) and rejects with COMMAND_CANCELLED.
   */
  withSftp<T>(fn: (sftp: SFTPWrapper) => Promise<T>, timeoutMs: number, signal?: AbortSignal): Promise<T>;
  close(): void;
}

export interface SshPool {
  connect(target: SshTarget): Promise<SshConnection>;
  exec(target: SshTarget, command: ShellCommand, options?: ExecOptions): Promise<ExecResult>;
  close(target: SshTarget): Promise<void>;
  closeAll(): void;
  stats(): { connectionsOpened: number; open: number };
}

const noopLogger: SshLogger = { debug: () => undefined, warn: () => undefined };

const PGID_MARKER = '__SOPHON_PGID__';
const PGID_LINE = new RegExp(`(^|\\n)${PGID_MARKER}=(\\d+)\\n`);
/** How long a command being stopped right after it was sent may take to report its group id. */
const PGID_WAIT_MS = 5000;

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export function createSshPool(deps: SshPoolDeps): SshPool {
  const logger = deps.logger ?? noopLogger;
  const maxChannels = deps.maxChannelsPerHost ?? 8;
  const connectTimeoutMs = deps.connectTimeoutMs ?? 15_000;
  const keepaliveIntervalMs = deps.keepaliveIntervalMs ?? 10_000;
  const keepaliveCountMax = deps.keepaliveCountMax ?? 3;
  const idleTimeoutMs = deps.idleTimeoutMs ?? 300_000;
  const defaultTimeoutMs = deps.defaultCommandTimeoutMs ?? 600_000;
  const defaultCaptureBytes = deps.defaultMaxCaptureBytes ?? 64 * 1024;

  /** Pending or established connection per key; a closed one is replaced on the next connect. */
  const connections = new Map<string, Promise<Connection>>();
  const live = new Set<Connection>();
  let connectionsOpened = 0;

  const keyOf = (t: SshTarget) => [t.credential, t.address, t.port ?? 22, t.hostKeyFingerprint ?? 'tofu'].join('|');

  class Connection implements SshConnection {
    closed = false;
    private readonly slots: Limiter;
    /** Callbacks of in-flight operations, told when the connection dies under them. */
    private readonly inFlight = new Set<(error: SshError) => void>();
    private idleTimer: NodeJS.Timeout | undefined;

    constructor(
      readonly target: SshTarget,
      readonly endpoint: string,
      readonly hostKeyFingerprint: string,
      private readonly client: Client,
    ) {
      live.add(this);
      this.slots = createLimiter(maxChannels, () => this.armIdleTimer());
      this.armIdleTimer();
    }

    private armIdleTimer(): void {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.close(), idleTimeoutMs);
      this.idleTimer.unref();
    }

    private async slot(): Promise<() => void> {
      const release = await this.slots.acquire();
      clearTimeout(this.idleTimer);
      return release;
    }

    /** Called once when the transport ends, whatever the reason. */
    lost(reason: string): void {
      if (this.closed) return;
      this.closed = true;
      clearTimeout(this.idleTimer);
      live.delete(this);
      const error = new SshError(
        'SSH_CONNECTION_LOST',
        `connection to ${this.endpoint} (host ${this.target.host}) was lost: ${reason}; the step can be retried`,
        this.endpoint,
      );
      this.slots.fail(error);
      for (const notify of this.inFlight) notify(error);
      this.inFlight.clear();
      logger.debug({ endpoint: this.endpoint, reason }, 'ssh connection closed');
    }

    close(): void {
      if (this.closed) return;
      this.lost('closed by Sophon');
      this.client.end();
    }

    private openChannel(text: string): Promise<ClientChannel> {
      return new Promise((resolve, reject) => {
        this.client.exec(text, (error, channel) => {
          if (error) {
            reject(
              new SshError(
                'SSH_CHANNEL_FAILED',
                `${this.endpoint} (host ${this.target.host}) refused a session channel: ${error.message}`,
                this.endpoint,
                { cause: error },
              ),
            );
          } else resolve(channel);
        });
      });
    }

    async run(command: ShellCommand, options: ExecOptions = {}): Promise<ExecResult> {
      const result = await this.exec(command, options);
      if (result.exitCode === 0) return result;
      const how = result.signal !== null ? `was killed by ${result.signal}` : `exited with ${result.exitCode}`;
      throw new SshError(
        'COMMAND_FAILED',
        `command on ${this.target.host} ${how}: ${command.text}\n${result.stderr.trim()}`,
        this.endpoint,
        { exitCode: result.exitCode },
      );
    }

    exec(command: ShellCommand, options: ExecOptions = {}): Promise<ExecResult> {
      const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
      const limit = options.maxCaptureBytes ?? defaultCaptureBytes;
      const { signal } = options;
      if (signal?.aborted) return Promise.reject(cancelled(this.target.host, this.endpoint, command, false));
      const started = Date.now();
      const stdout = createOutputCapture(limit);
      const stderr = createOutputCapture(limit);

      return new Promise<ExecResult>((resolve, reject) => {
        let release: (() => void) | undefined;
        let channel: ClientChannel | undefined;
        let pgid: number | undefined;
        let exit: { code: number | null; signal: string | null } | undefined;
        let settled = false;
        /** A timeout or cancellation is killing the command; it alone settles from then on. */
        let stopping = false;
        /** The command was sent to the host, so it may run even before its group id arrives. */
        let sent = false;
        let groupKnown!: (pgid: number | undefined) => void;
        const group = new Promise<number | undefined>((r) => (groupKnown = r));

        const settle = (error: Error | undefined, result?: ExecResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.inFlight.delete(onLost);
          release?.();
          if (error !== undefined) reject(error);
          else resolve(result as ExecResult);
        };
        const onLost = (error: SshError) => {
          // A stopped command is reported as timed out or cancelled, even if killing it broke the connection.
          if (!stopping) settle(error);
        };
        this.inFlight.add(onLost);

        /** Kills the command's process group, closes its channel and rejects with `failure`. */
        const stop = (failure: (killed: boolean) => SshError) => {
          if (stopping || settled) return;
          stopping = true;
          void (async () => {
            // A command sent a moment ago prints its group id first thing: wait for it, so it is killed too.
            const target = sent ? await withTimeout(group, PGID_WAIT_MS).catch(() => undefined) : undefined;
            await this.killGroup(target, options.killGraceMs ?? 2000);
            channel?.close();
            settle(failure(target !== undefined));
          })();
        };
        const timer = setTimeout(
          () =>
            stop((killed) => {
              const what = killed ? 'did not finish' : 'did not start (no free channel or the host is not responding)';
              return new SshError(
                'COMMAND_TIMEOUT',
                `command on ${this.target.host} ${what} within ${timeoutMs} ms${killed ? ' and was killed' : ''}: ${command.text}` +
                  tails(stdout.text(), stderr.text()),
                this.endpoint,
              );
            }),
          timeoutMs,
        );
        const onAbort = () =>
          stop((killed) => cancelled(this.target.host, this.endpoint, command, killed, tails(stdout.text(), stderr.text())));
        signal?.addEventListener('abort', onAbort, { once: true });

        const emit = (capture: OutputCapture, callback: ((chunk: Buffer) => void) | undefined, chunk: Buffer) => {
          if (chunk.length === 0) return;
          capture.write(chunk);
          try {
            callback?.(chunk);
          } catch (error) {
            // A broken progress consumer must not break the command or the connection.
            logger.warn({ endpoint: this.endpoint, error: String(error) }, 'output callback failed');
          }
        };
        // The wrapper prints the process group id before the command runs. Shell start-up
        // files may print first, so look for the marker line instead of taking line one.
        let searching = true;
        let pending: Buffer = Buffer.alloc(0);
        const flushPending = () => {
          searching = false;
          groupKnown(pgid);
          emit(stdout, options.onStdout, pending);
          pending = Buffer.alloc(0);
        };
        const onStdout = (chunk: Buffer) => {
          if (!searching) return emit(stdout, options.onStdout, chunk);
          pending = Buffer.concat([pending, chunk]);
          // latin1 maps bytes 1:1 to characters, so match offsets are byte offsets.
          const match = PGID_LINE.exec(pending.toString('latin1'));
          if (match !== null) {
            pgid = Number(match[2]);
            const rest = pending.subarray(match.index + match[0].length);
            pending = pending.subarray(0, match.index + (match[1] as string).length);
            flushPending();
            emit(stdout, options.onStdout, rest);
          } else if (pending.length > 64 * 1024) flushPending();
        };
        const onStderr = (chunk: Buffer) => emit(stderr, options.onStderr, chunk);

        // OpenSSH starts each session command as a session leader, so `$$` is the process
        // group id of everything the command starts; a timeout or cancellation kills that whole group.
        const wrapped = `echo ${PGID_MARKER}=$$; exec sh -c ${shellQuote(command.text)}`;

        this.slot()
          .then(async (r) => {
            release = r;
            if (settled || stopping) return release();
            sent = true;
            channel = await this.openChannel(wrapped);
            if (settled) return channel.close();
            channel.on('data', onStdout);
            channel.stderr.on('data', onStderr);
            channel.on('exit', (code: number | null, killedBy?: string) => {
              exit = { code: killedBy === undefined ? code : null, signal: killedBy ?? null };
            });
            channel.on('close', () => {
              groupKnown(undefined);
              if (stopping) return;
              if (searching) flushPending();
              if (exit === undefined) {
                settle(
                  new SshError(
                    'SSH_CONNECTION_LOST',
                    `session to ${this.endpoint} (host ${this.target.host}) closed before the command reported an exit status`,
                    this.endpoint,
                  ),
                );
                return;
              }
              settle(undefined, {
                exitCode: exit.code,
                signal: exit.signal,
                stdout: stdout.text(),
                stderr: stderr.text(),
                stdoutBytes: stdout.totalBytes,
                stderrBytes: stderr.totalBytes,
                durationMs: Date.now() - started,
              });
            });
            // Commands that read stdin must see EOF instead of waiting forever.
            channel.end(options.stdin);
          })
          .catch((error: unknown) => {
            groupKnown(undefined);
            if (!stopping) settle(error instanceof Error ? error : new Error(String(error)));
          });
      });
    }

    /** TERM the process group, wait up to the grace period, then KILL; never waits forever. */
    private async killGroup(pgid: number | undefined, graceMs: number): Promise<void> {
      if (pgid === undefined || !Number.isInteger(pgid) || pgid <= 1 || this.closed) return;
      const ticks = Math.max(1, Math.ceil(graceMs / 100));
      // After KILL, wait (bounded) until the group is gone, so callers never see its last moments.
      const script = sh`kill -TERM -- -${pgid} 2>/dev/null; i=0; while kill -0 -- -${pgid} 2>/dev/null; do i=$((i+1)); if [ "$i" -eq ${ticks + 1} ]; then kill -KILL -- -${pgid} 2>/dev/null; fi; if [ "$i" -gt ${ticks + 50} ]; then break; fi; sleep 0.1; done; true`;
      const kill = async () => {
        // The stopped command still holds its slot, so this channel is opened outside the queue.
        const channel = await this.openChannel(script.text);
        await new Promise<void>((resolve) => {
          channel.on('close', () => resolve());
          channel.resume();
          channel.stderr.resume();
          channel.end();
        });
      };
      try {
        await withTimeout(kill(), graceMs + 5000);
      } catch (error) {
        // A host that cannot even run kill is not healthy; start afresh next time.
        logger.warn({ endpoint: this.endpoint, pgid, error: String(error) }, 'could not kill a stopped command');
        this.close();
      }
    }

    async withSftp<T>(fn: (sftp: SFTPWrapper) => Promise<T>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
      const transferCancelled = () => new SshError('COMMAND_CANCELLED', `file transfer to ${this.target.host} was cancelled`, this.endpoint);
      if (signal?.aborted) throw transferCancelled();
      const release = await this.slot();
      let sftp: SFTPWrapper | undefined;
      let onLost: ((error: SshError) => void) | undefined;
      let onAbort: (() => void) | undefined;
      let finished = false;
      try {
        const work = (async () => {
          sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
            this.client.sftp((error, s) =>
              error
                ? reject(
                    new SshError('SSH_CHANNEL_FAILED', `${this.endpoint} (host ${this.target.host}) refused an SFTP session: ${error.message}`, this.endpoint, {
                      cause: error,
                    }),
                  )
                : resolve(s),
            ),
          );
          // Cancelled or timed out while the session was opening: nobody will use it.
          if (finished) sftp.end();
          return fn(sftp);
        })();
        const lost = new Promise<never>((_, reject) => {
          onLost = reject;
          this.inFlight.add(reject);
        });
        // Ending the session in `finally` aborts a transfer still under way.
        const aborted = new Promise<never>((_, reject) => {
          onAbort = () => reject(transferCancelled());
          if (signal?.aborted) onAbort();
          else signal?.addEventListener('abort', onAbort, { once: true });
        });
        return await Promise.race([
          work,
          lost,
          aborted,
          timeout(
            timeoutMs,
            () =>
              new SshError(
                'SSH_TIMEOUT',
                `file transfer to ${this.target.host} did not finish within ${timeoutMs} ms`,
                this.endpoint,
              ),
          ),
        ]);
      } catch (error) {
        // Once the caller has asked to stop, whatever broke next is that stop.
        throw signal?.aborted ? transferCancelled() : error;
      } finally {
        finished = true;
        if (onLost !== undefined) this.inFlight.delete(onLost);
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
        sftp?.end();
        release();
      }
    }
  }

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
        connection = new Connection(target, endpoint, seen ?? '', client);
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
      for (const pending of connections.values()) void pending.then((c) => c.close(), () => undefined);
      connections.clear();
    },
    stats() {
      return { connectionsOpened, open: live.size };
    },
  };
}

function cancelled(host: string, endpoint: string, command: ShellCommand, killed: boolean, output = ''): SshError {
  const what = killed ? 'was cancelled and killed' : 'was cancelled before it started';
  return new SshError('COMMAND_CANCELLED', `command on ${host} ${what}: ${command.text}${output}`, endpoint);
}

function tails(stdout: string, stderr: string): string {
  const last = (s: string) => s.slice(-2000).trim();
  let text = '';
  if (last(stdout) !== '') text += `\n--- stdout (tail) ---\n${last(stdout)}`;
  if (last(stderr) !== '') text += `\n--- stderr (tail) ---\n${last(stderr)}`;
  return text;
}

function timeout(ms: number, error: () => Error): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(error()), ms).unref());
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, timeout(ms, () => new Error(`timed out after ${ms} ms`))]);
}

/** The shapes of Sophon's SSH access: targets, credentials, commands' options and results. */
import type { SFTPWrapper } from 'ssh2';
import type { ShellCommand } from './quote.js';

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

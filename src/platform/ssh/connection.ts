/**
 * One SSH connection to a host: commands on session channels (capped per connection) with
 * timeouts and cancellation that kill the remote process group, bounded output capture, and
 * SFTP sessions. The pool (pool.ts) opens, shares and closes them.
 */
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { createOutputCapture, type OutputCapture } from './capture.js';
import { SshError } from './errors.js';
import { createLimiter, type Limiter } from './limiter.js';
import { sh, shellQuote, type ShellCommand } from './quote.js';
import type { ExecOptions, ExecResult, SshConnection, SshLogger, SshTarget } from './types.js';

/** What every connection of a pool shares. */
export interface ConnectionSettings {
  logger: SshLogger;
  maxChannels: number;
  idleTimeoutMs: number;
  defaultTimeoutMs: number;
  defaultCaptureBytes: number;
  /** The pool's open connections: a connection adds itself and leaves when it closes. */
  live: Set<Connection>;
}

const PGID_MARKER = '__SOPHON_PGID__';
const PGID_LINE = new RegExp(`(^|\\n)${PGID_MARKER}=(\\d+)\\n`);
/** How long a command being stopped right after it was sent may take to report its group id. */
const PGID_WAIT_MS = 5000;

export class Connection implements SshConnection {
  closed = false;
  private readonly slots: Limiter;
  /** Callbacks of in-flight operations, told when the connection dies under them. */
  private readonly inFlight = new Set<(error: SshError) => void>();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: ConnectionSettings,
    readonly target: SshTarget,
    readonly endpoint: string,
    readonly hostKeyFingerprint: string,
    private readonly client: Client,
  ) {
    this.settings.live.add(this);
    this.slots = createLimiter(this.settings.maxChannels, () => this.armIdleTimer());
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close(), this.settings.idleTimeoutMs);
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
    this.settings.live.delete(this);
    const error = new SshError(
      'SSH_CONNECTION_LOST',
      `connection to ${this.endpoint} (host ${this.target.host}) was lost: ${reason}; the step can be retried`,
      this.endpoint,
    );
    this.slots.fail(error);
    for (const notify of this.inFlight) notify(error);
    this.inFlight.clear();
    this.settings.logger.debug({ endpoint: this.endpoint, reason }, 'ssh connection closed');
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
    throw new SshError('COMMAND_FAILED', `command on ${this.target.host} ${how}: ${command.text}\n${result.stderr.trim()}`, this.endpoint, {
      exitCode: result.exitCode,
    });
  }

  exec(command: ShellCommand, options: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = options.timeoutMs ?? this.settings.defaultTimeoutMs;
    const limit = options.maxCaptureBytes ?? this.settings.defaultCaptureBytes;
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
          this.settings.logger.warn({ endpoint: this.endpoint, error: String(error) }, 'output callback failed');
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
      this.settings.logger.warn({ endpoint: this.endpoint, pgid, error: String(error) }, 'could not kill a stopped command');
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
                  new SshError(
                    'SSH_CHANNEL_FAILED',
                    `${this.endpoint} (host ${this.target.host}) refused an SFTP session: ${error.message}`,
                    this.endpoint,
                    {
                      cause: error,
                    },
                  ),
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
          () => new SshError('SSH_TIMEOUT', `file transfer to ${this.target.host} did not finish within ${timeoutMs} ms`, this.endpoint),
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

export function cancelled(host: string, endpoint: string, command: ShellCommand, killed: boolean, output = ''): SshError {
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

import { SophonError } from '../errors.js';

/**
 * The SSH layer's error codes and whether retrying can help. Activities map `false` to a
 * non-retryable Temporal failure: retrying a refused key or a changed host key only
 * hammers the host and hides the cause.
 */
export const SSH_RETRYABLE = {
  SSH_AUTH_REFUSED: false,
  SSH_CREDENTIAL_INVALID: false,
  SSH_UNREACHABLE: true,
  SSH_TIMEOUT: true,
  SSH_CONNECTION_LOST: true,
  SSH_CHANNEL_FAILED: true,
  HOST_KEY_CHANGED: false,
  COMMAND_TIMEOUT: true,
  // The caller (an activity being cancelled) asked to stop; retrying would undo the request.
  COMMAND_CANCELLED: false,
  COMMAND_FAILED: false,
  UPLOAD_CORRUPT: true,
} as const satisfies Record<string, boolean>;

export type SshErrorCode = keyof typeof SSH_RETRYABLE;

export class SshError extends SophonError {
  override readonly code: SshErrorCode;
  readonly retryable: boolean;
  /** `user@address:port`, for logs and operation steps. */
  readonly endpoint: string;
  /** For COMMAND_FAILED: the command's exit code (null when a signal ended it). */
  readonly exitCode: number | null | undefined;

  constructor(code: SshErrorCode, message: string, endpoint: string, options?: { cause?: unknown; exitCode?: number | null }) {
    super(code, message);
    this.name = 'SshError';
    this.code = code;
    this.retryable = SSH_RETRYABLE[code];
    this.endpoint = endpoint;
    this.exitCode = options?.exitCode;
    if (options?.cause !== undefined) this.cause = options.cause;
  }
}

/** True when the error is a transient SSH failure worth retrying with backoff. */
export function isRetryable(error: unknown): boolean {
  return error instanceof SshError && error.retryable;
}

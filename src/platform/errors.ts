/**
 * Errors with a stable machine-readable code, an HTTP status for the API and a message
 * that tells the operator what to do. Anything thrown that is not a SophonError is a bug
 * and is reported as INTERNAL without leaking its details.
 */
import type { SshErrorCode } from './ssh/errors.js';

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'VALIDATION_FAILED'
  | 'UNKNOWN_REFERENCE'
  | 'MALFORMED_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'METHOD_NOT_ALLOWED'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'PORT_IN_USE'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'SECRET_UNREADABLE'
  | SshErrorCode
  | 'PREREQUISITES_FAILED'
  | 'HOSTS_FAILED'
  | 'DEFINITION_INVALID'
  | 'PLACEMENT_INVALID'
  | 'SCHEDULE_INVALID'
  | 'PACKAGE_INVALID'
  | 'PACKAGE_MISSING'
  | 'ARCHIVE_UNSAFE'
  | 'HEALTH_CHECK_FAILED'
  | 'RULE_INVALID'
  | 'INTERNAL';

export interface FieldError {
  /** Dotted path of the offending field, e.g. `hosts.2.port`. */
  path: string;
  message: string;
  /** 1-based column of the problem inside the field's text (alert rule expressions). */
  column?: number;
}

const STATUS: Record<ErrorCode, number> = {
  CONFIG_INVALID: 500,
  VALIDATION_FAILED: 400,
  UNKNOWN_REFERENCE: 422,
  MALFORMED_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  METHOD_NOT_ALLOWED: 405,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  IDEMPOTENCY_KEY_REUSED: 422,
  PORT_IN_USE: 500,
  DEPENDENCY_UNAVAILABLE: 503,
  SECRET_UNREADABLE: 500,
  SSH_AUTH_REFUSED: 502,
  SSH_CREDENTIAL_INVALID: 422,
  SSH_UNREACHABLE: 502,
  SSH_TIMEOUT: 504,
  SSH_CONNECTION_LOST: 502,
  SSH_CHANNEL_FAILED: 502,
  HOST_KEY_CHANGED: 502,
  COMMAND_TIMEOUT: 504,
  COMMAND_CANCELLED: 409,
  COMMAND_FAILED: 502,
  UPLOAD_CORRUPT: 502,
  PREREQUISITES_FAILED: 422,
  HOSTS_FAILED: 500,
  DEFINITION_INVALID: 500,
  PLACEMENT_INVALID: 422,
  SCHEDULE_INVALID: 422,
  PACKAGE_INVALID: 502,
  PACKAGE_MISSING: 422,
  ARCHIVE_UNSAFE: 502,
  HEALTH_CHECK_FAILED: 502,
  RULE_INVALID: 422,
  INTERNAL: 500,
};

export class SophonError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly errors: FieldError[];

  constructor(code: ErrorCode, message: string, errors: FieldError[] = []) {
    super(message);
    this.name = 'SophonError';
    this.code = code;
    this.status = STATUS[code];
    this.errors = errors;
  }
}

export const notFound = (what: string, id: string) => new SophonError('NOT_FOUND', `${what} '${id}' does not exist`);

export const conflict = (message: string) => new SophonError('CONFLICT', message);

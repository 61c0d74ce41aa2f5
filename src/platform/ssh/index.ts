/**
 * Host access for Sophon activities: `createSshPool` once per worker (credentials resolved by
 * the caller), `pool.connect(target)` per step, commands built only with the `sh` tag.
 * Every failure is an `SshError` with a stable `code` and `retryable`; activities turn
 * `retryable: false` into a non-retryable Temporal failure.
 */
export { createOutputCapture, type OutputCapture } from './capture.js';
export { SSH_RETRYABLE, SshError, isRetryable, type SshErrorCode } from './errors.js';
export { BASE_COMMANDS, checkPrerequisites, gatherFacts, parseFactsOutput, type HostFacts, type Requirements } from './facts.js';
export { fingerprint } from './fingerprint.js';
export { createSshPool } from './pool.js';
export { ShellCommand, sh, shellQuote } from './quote.js';
export type { Credential, ExecOptions, ExecResult, SshConnection, SshLogger, SshPool, SshPoolDeps, SshTarget } from './types.js';
export { remoteSha256, sha256File, uploadFile, type UploadOptions, type UploadResult } from './upload.js';

/**
 * SFTP upload with end-to-end verification: the file is written next to its destination,
 * its sha256 is computed on the host with `sha256sum`, and only a verified file is moved
 * into place (rename is atomic), so a partial or corrupted upload is never used.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { SshError } from './errors.js';
import type { SshConnection } from './types.js';
import { sh } from './quote.js';

export interface UploadOptions {
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  /** Budget for the transfer itself (verification commands have their own). */
  timeoutMs?: number;
  /** File mode of the destination, e.g. 0o644. */
  mode?: number;
  /** Aborting it stops the transfer (COMMAND_CANCELLED) and removes the partial file. */
  signal?: AbortSignal;
}

export interface UploadResult {
  bytes: number;
  sha256: string;
  /** True when the destination already held identical content and nothing was sent. */
  skipped: boolean;
}

export async function sha256File(localPath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(localPath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 of a file on the host, or null when it does not exist. */
export async function remoteSha256(conn: SshConnection, remotePath: string, signal?: AbortSignal): Promise<string | null> {
  const result = await conn.exec(sh`if [ -f ${remotePath} ]; then sha256sum -- ${remotePath}; fi`, { timeoutMs: 120_000, signal });
  if (result.exitCode !== 0) {
    throw new SshError(
      'COMMAND_FAILED',
      `sha256sum of ${remotePath} on ${conn.target.host} failed: ${result.stderr.trim()}`,
      conn.endpoint,
    );
  }
  const digest = /^([0-9a-f]{64})\s/.exec(result.stdout)?.[1];
  return digest ?? null;
}

export async function uploadFile(
  conn: SshConnection,
  localPath: string,
  remotePath: string,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const { signal } = options;
  const [expected, { size }] = await Promise.all([sha256File(localPath), stat(localPath)]);
  // Check before act: a retried step finds the file already in place.
  if ((await remoteSha256(conn, remotePath, signal)) === expected) {
    options.onProgress?.(size, size);
    return { bytes: size, sha256: expected, skipped: true };
  }

  const temp = `${remotePath}.sophon-upload-${randomBytes(6).toString('hex')}`;
  await conn.run(sh`mkdir -p -- ${posix.dirname(remotePath)}`, { timeoutMs: 60_000, signal });
  try {
    await conn.withSftp(
      (sftp) =>
        new Promise<void>((resolve, reject) => {
          sftp.fastPut(
            localPath,
            temp,
            {
              step: (sent, _chunk, total) => options.onProgress?.(sent, total),
              ...(options.mode !== undefined ? { mode: options.mode } : {}),
            },
            (error) => (error ? reject(sftpError(conn, temp, error)) : resolve()),
          );
        }),
      options.timeoutMs ?? 600_000,
      signal,
    );
    const actual = await remoteSha256(conn, temp, signal);
    if (actual !== expected) {
      throw new SshError(
        'UPLOAD_CORRUPT',
        `upload of ${localPath} to ${conn.target.host}:${remotePath} arrived corrupted (sha256 ${actual ?? 'missing'}, expected ${expected}); the upload can be retried`,
        conn.endpoint,
      );
    }
    await conn.run(sh`mv -f -- ${temp} ${remotePath}`, { timeoutMs: 60_000, signal });
    return { bytes: size, sha256: expected, skipped: false };
  } catch (error) {
    // Not bound to the signal: a cancelled upload still removes its partial file.
    if (!conn.closed) await conn.exec(sh`rm -f -- ${temp}`, { timeoutMs: 60_000 }).catch(() => undefined);
    throw error;
  }
}

/** SFTP status codes that retrying cannot fix: no such file (2), permission denied (3). */
const DEFINITIVE_SFTP_CODES = new Set([2, 3]);

function sftpError(conn: SshConnection, path: string, error: Error & { code?: unknown }): SshError {
  const code = DEFINITIVE_SFTP_CODES.has(error.code as number) ? 'COMMAND_FAILED' : 'SSH_CHANNEL_FAILED';
  return new SshError(code, `SFTP upload to ${conn.target.host}:${path} failed: ${error.message}`, conn.endpoint, { cause: error });
}

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { SophonError } from '../errors.js';

const VERSION = 'v1';

/**
 * AES-256-GCM sealing of secrets kept in Postgres (SSH keys, passphrases, channel tokens).
 * The sealed form is `v1:<iv>:<tag>:<ciphertext>` in base64, so the scheme can change later
 * without guessing what a stored value is.
 */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

export function createSecretBox(masterKey: Buffer): SecretBox {
  if (masterKey.length !== 32) {
    throw new SophonError('CONFIG_INVALID', 'The master key must be 32 bytes (64 hex characters or 44 base64 characters)');
  }
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
    },
    open(sealed) {
      const [version, iv, tag, body] = sealed.split(':');
      if (version !== VERSION || !iv || !tag || body === undefined) {
        throw new SophonError('SECRET_UNREADABLE', 'A stored secret has an unknown format');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', masterKey, Buffer.from(iv, 'base64'));
        decipher.setAuthTag(Buffer.from(tag, 'base64'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
      } catch {
        throw new SophonError(
          'SECRET_UNREADABLE',
          'A stored secret cannot be decrypted: the master key differs from the one it was sealed with',
        );
      }
    },
  };
}

/** Accepts a 32-byte key written as 64 hex characters or as base64. */
export function parseMasterKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new SophonError(
      'CONFIG_INVALID',
      `${source}: expected a 32-byte key as 64 hex characters or base64 (generate one with: openssl rand -hex 32)`,
    );
  }
  return key;
}

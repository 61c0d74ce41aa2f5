import { createHash, randomUUID } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Pool } from '../../platform/db/pool.js';
import { credentialsRepo, type CredentialInfo } from './repo.js';
import { notFound, SophonError } from '../../platform/errors.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { invalidField } from '../../platform/validation.js';

export interface NewCredential {
  name: string;
  username: string;
  privateKey: string;
  passphrase?: string | undefined;
}

/** What an activity needs to log in; lives only in the activity's memory. */
export interface ResolvedCredential {
  username: string;
  privateKey: string;
  passphrase?: string;
}

export type CredentialStore = ReturnType<typeof createCredentialStore>;

/**
 * SSH credentials sealed at rest. Workflows carry credential ids only; activities resolve
 * them here right before connecting.
 */
export function createCredentialStore(pool: Pool, box: SecretBox) {
  const repo = credentialsRepo(pool);
  return {
    async create(input: NewCredential, createdBy: string): Promise<CredentialInfo> {
      const parsed = ssh2.utils.parseKey(input.privateKey, input.passphrase);
      if (parsed instanceof Error) {
        const encrypted = /encrypted|passphrase/i.test(parsed.message);
        const path = encrypted ? 'passphrase' : 'privateKey';
        const message = encrypted
          ? input.passphrase
            ? 'the passphrase does not decrypt the private key'
            : 'the private key is encrypted: give its passphrase'
          : `expected an OpenSSH or PEM private key (${parsed.message})`;
        throw invalidField(path, message);
      }
      const key = Array.isArray(parsed) ? (parsed[0] as ssh2.ParsedKey) : parsed;
      const publicKeyFingerprint = `SHA256:${createHash('sha256').update(key.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
      const created = await repo.insert({
        id: randomUUID(),
        name: input.name,
        username: input.username,
        sealedPrivateKey: box.seal(input.privateKey),
        sealedPassphrase: input.passphrase ? box.seal(input.passphrase) : null,
        publicKeyFingerprint,
        keyType: key.type,
        createdBy,
      });
      if (!created) throw new SophonError('CONFLICT', `A credential named '${input.name}' already exists`);
      return created;
    },

    list: () => repo.list(),

    async find(idOrName: string): Promise<CredentialInfo> {
      const found = await repo.find(idOrName);
      if (!found) throw notFound('Credential', idOrName);
      return found;
    },

    async resolve(id: string): Promise<ResolvedCredential> {
      const sealed = await repo.sealed(id);
      if (!sealed) throw notFound('Credential', id);
      return {
        username: sealed.username,
        privateKey: box.open(sealed.sealedPrivateKey),
        ...(sealed.sealedPassphrase ? { passphrase: box.open(sealed.sealedPassphrase) } : {}),
      };
    },
  };
}

import type { Pool, PoolClient } from '../../platform/db/pool.js';

/** What may be shown about a credential: never the key or passphrase. */
export interface CredentialInfo {
  id: string;
  name: string;
  username: string;
  keyType: string;
  publicKeyFingerprint: string;
  hasPassphrase: boolean;
  createdBy: string;
  createdAt: Date;
}

export interface SealedCredential {
  id: string;
  name: string;
  username: string;
  sealedPrivateKey: string;
  sealedPassphrase: string | null;
}

type Db = Pool | PoolClient;

const INFO = `id, name, username, key_type AS "keyType", public_key_fingerprint AS "publicKeyFingerprint",
  sealed_passphrase IS NOT NULL AS "hasPassphrase", created_by AS "createdBy", created_at AS "createdAt"`;

export function credentialsRepo(db: Db) {
  return {
    /** Returns undefined when the name is taken. */
    async insert(c: {
      id: string;
      name: string;
      username: string;
      sealedPrivateKey: string;
      sealedPassphrase: string | null;
      publicKeyFingerprint: string;
      keyType: string;
      createdBy: string;
    }): Promise<CredentialInfo | undefined> {
      const res = await db.query<CredentialInfo>(
        `INSERT INTO credentials (id, name, username, sealed_private_key, sealed_passphrase, public_key_fingerprint, key_type, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (name) DO NOTHING RETURNING ${INFO}`,
        [c.id, c.name, c.username, c.sealedPrivateKey, c.sealedPassphrase, c.publicKeyFingerprint, c.keyType, c.createdBy],
      );
      return res.rows[0];
    },

    async list(): Promise<CredentialInfo[]> {
      return (await db.query<CredentialInfo>(`SELECT ${INFO} FROM credentials ORDER BY name`)).rows;
    },

    async find(idOrName: string): Promise<CredentialInfo | undefined> {
      return (await db.query<CredentialInfo>(`SELECT ${INFO} FROM credentials WHERE id::text = $1 OR name = $1`, [idOrName])).rows[0];
    },

    async sealed(id: string): Promise<SealedCredential | undefined> {
      const res = await db.query<SealedCredential>(
        `SELECT id, name, username, sealed_private_key AS "sealedPrivateKey", sealed_passphrase AS "sealedPassphrase"
         FROM credentials WHERE id::text = $1`,
        [id],
      );
      return res.rows[0];
    },
  };
}

/** SSH credentials, behind the routes: the store seals and checks them; storing one is audited. */
import type { Pool } from '../../platform/db/pool.js';
import type { Who } from '../../platform/http/auth.js';
import { auditRepo } from '../audit/repo.js';
import type { CredentialStore, NewCredential } from './store.js';

export type CredentialsService = ReturnType<typeof createCredentialsService>;

export function createCredentialsService({ pool, credentials }: { pool: Pool; credentials: CredentialStore }) {
  return {
    list: () => credentials.list(),

    get: (ref: string) => credentials.find(ref),

    async create(input: NewCredential, who: Who) {
      const created = await credentials.create(input, who.actor);
      await auditRepo(pool).record({
        actor: who.actor,
        action: 'credential.create',
        target: created.name,
        requestId: who.requestId,
        details: { credentialId: created.id },
      });
      return created;
    },
  };
}

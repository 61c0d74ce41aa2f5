/** HTTP routes of SSH credentials (see src/platform/http/registry.ts): parse, then delegate to the credentials service. */
import { z } from 'zod';
import { safeText } from '../../platform/validation.js';
import { who } from '../../platform/http/auth.js';
import { route } from '../../platform/http/registry.js';
import { Timestamp } from '../../platform/http/schemas.js';
import type { CredentialsService } from './service.js';

export const CreateCredentialBody = z.strictObject({
  name: safeText().trim().min(1, 'expected a name').max(100, 'expected at most 100 characters'),
  username: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/i, 'expected a Unix user name (letters, digits, "_", ".", "-"; at most 32 characters)'),
  privateKey: z
    .string()
    .min(1, 'expected an OpenSSH or PEM private key')
    .max(20_000, 'expected at most 20000 characters')
    .describe(
      'An OpenSSH ("-----BEGIN OPENSSH PRIVATE KEY-----") or PEM private key (RSA, ECDSA or Ed25519). ' +
        'A key that does not parse, or an encrypted key without its passphrase, is refused with 400 naming privateKey or passphrase.',
    ),
  passphrase: z.string().max(1000).optional().describe('The passphrase of an encrypted private key'),
});

export const Credential = z.object({
  id: z.uuid(),
  name: z.string(),
  username: z.string(),
  keyType: z.string(),
  publicKeyFingerprint: z.string(),
  hasPassphrase: z.boolean(),
  createdBy: z.string(),
  createdAt: Timestamp,
});

export function credentialRoutes(credentials: CredentialsService) {
  return [
    route({
      method: 'get',
      path: '/api/v1/credentials',
      summary: 'List SSH credentials (never their keys)',
      role: 'admin',
      status: 200,
      response: z.object({ credentials: z.array(Credential) }),
      handler: async () => ({ credentials: await credentials.list() }),
    }),
    route({
      method: 'get',
      path: '/api/v1/credentials/:credential',
      summary: 'Show an SSH credential by id or name (never its key)',
      role: 'admin',
      status: 200,
      response: Credential,
      handler: ({ params }) => credentials.get(params.credential!),
    }),
    route({
      method: 'post',
      path: '/api/v1/credentials',
      summary: 'Store an SSH credential, encrypted at rest',
      role: 'admin',
      body: CreateCredentialBody,
      status: 201,
      response: Credential,
      handler: ({ req, body }) => credentials.create(body, who(req)),
    }),
  ];
}

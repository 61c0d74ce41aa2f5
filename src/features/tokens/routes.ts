/** HTTP routes of API tokens (see src/platform/http/registry.ts): parse, then delegate to the tokens service. */
import { z } from 'zod';
import { safeText } from '../../platform/validation.js';
import { who } from '../../platform/http/auth.js';
import { ROLES } from '../../platform/http/roles.js';
import { route } from '../../platform/http/registry.js';
import { Timestamp } from '../../platform/http/schemas.js';
import type { TokensService } from './service.js';

export const CreateTokenBody = z.strictObject({
  name: safeText().trim().min(1, 'expected a name').max(100, 'expected at most 100 characters'),
  role: z.enum(ROLES, { error: `expected one of ${ROLES.join(', ')}` }),
});

const Token = z.object({
  id: z.uuid(),
  name: z.string(),
  role: z.enum(ROLES),
  prefix: z.string(),
  createdBy: z.string(),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
});

export function tokenRoutes(tokens: TokensService) {
  return [
    route({
      method: 'get',
      path: '/api/v1/tokens',
      summary: 'List API tokens',
      role: 'admin',
      status: 200,
      response: z.object({ tokens: z.array(Token) }),
      handler: async () => ({ tokens: await tokens.list() }),
    }),
    route({
      method: 'post',
      path: '/api/v1/tokens',
      summary: 'Create an API token (shown once)',
      role: 'admin',
      body: CreateTokenBody,
      status: 201,
      response: Token.extend({ token: z.string().describe('The secret; shown only in this answer') }),
      handler: ({ req, body }) => tokens.create(body, who(req)),
    }),
    route({
      method: 'delete',
      path: '/api/v1/tokens/:id',
      summary: 'Revoke an API token',
      role: 'admin',
      status: 200,
      response: Token,
      handler: ({ req, params }) => tokens.revoke(params.id!, who(req)),
    }),
  ];
}

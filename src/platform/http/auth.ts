import type { RequestHandler } from 'express';
import type { Pool } from '../db/pool.js';
import { tokensRepo } from '../../features/tokens/repo.js';
import { SophonError } from '../errors.js';
import type { Role } from './roles.js';

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Resolves `Authorization: Bearer <token>` to a principal; anything else is a 401. */
export function authenticate(pool: Pool): RequestHandler {
  const tokens = tokensRepo(pool);
  return async (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) {
      throw new SophonError('UNAUTHENTICATED', 'Missing bearer token: send "Authorization: Bearer <token>"');
    }
    const token = await tokens.authenticate(match[1]);
    if (!token) throw new SophonError('UNAUTHENTICATED', 'The bearer token is unknown or revoked');
    req.principal = { tokenId: token.id, name: token.name, role: token.role };
    req.log = req.log.child({ actor: token.name });
    next();
  };
}

export function requireRole(role: Role): RequestHandler {
  return (req, _res, next) => {
    const principal = req.principal;
    if (!principal || RANK[principal.role] < RANK[role]) {
      throw new SophonError('FORBIDDEN', `This needs the ${role} role; token '${principal?.name ?? '?'}' has ${principal?.role ?? 'none'}`);
    }
    next();
  };
}

export const actorOf = (req: { principal?: Principal }) => `token:${req.principal?.name ?? 'anonymous'}`;

/** Who made a request, as a service records it in the audit log. */
export interface Who {
  actor: string;
  requestId: string;
}
export const who = (req: { principal?: Principal; id: unknown }): Who => ({ actor: actorOf(req), requestId: String(req.id) });

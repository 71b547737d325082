/**
 * Bearer authentication of the REST API with the operator's key, compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestAsyncHookHandler } from 'fastify';
import { operatorPrincipal, type Principal } from '../accounts/principal.ts';
import { CodedError } from '../protocol/errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, set by the auth hook before any `/api/v1` route runs. */
    principal: Principal;
  }
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** True when `given` equals `expected`, in time independent of where they differ (and of length). */
export function keysMatch(given: string, expected: string): boolean {
  // Hashing first gives equal-length inputs, so timingSafeEqual never leaks the key's length.
  return timingSafeEqual(digest(given), digest(expected));
}

/** An onRequest hook: no or malformed `Authorization` → 401, a wrong key → 403. */
export function requireAdminKey(adminKey: string): onRequestAsyncHookHandler {
  return async (request) => {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      throw new CodedError('unauthorized', 'missing credentials: send Authorization: Bearer <key>');
    }
    if (!keysMatch(match[1], adminKey)) throw new CodedError('forbidden', 'this key is not allowed here');
    request.principal = operatorPrincipal;
  };
}

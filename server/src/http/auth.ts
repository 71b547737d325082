/**
 * Bearer authentication of the REST API. The operator's key is compared in constant time; any
 * other key is looked up by the SHA-256 of its secret, so revoking one takes effect on the next
 * request. Failed authentications (unknown or revoked keys) are rate-limited per client address:
 * an address out of tries is refused (429) before its key is looked at. Each route group then
 * admits only the roles it serves (`requireRole`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type { FailedAuthLimiter } from '../accounts/failed-auth.ts';
import { REVOKED_MESSAGE, principalOf, secretHash } from '../accounts/keys.ts';
import { operatorPrincipal, type Principal, type Role } from '../accounts/principal.ts';
import { CodedError } from '../protocol/errors.ts';
import type { Store } from '../store/index.ts';

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

/** The key in an `Authorization: Bearer <key>` header, or undefined when there is none. */
export function bearerKey(header: string | undefined): string | undefined {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}

export interface AuthDeps {
  adminKey: string;
  store: Pick<Store, 'findKeyByHash'>;
  failures: FailedAuthLimiter;
  now: () => number;
}

/** The caller `key` stands for; a key that is unknown or revoked throws `unauthorized`. */
export async function resolvePrincipal(key: string, deps: Pick<AuthDeps, 'adminKey' | 'store'>): Promise<Principal> {
  if (keysMatch(key, deps.adminKey)) return operatorPrincipal;
  const record = await deps.store.findKeyByHash(secretHash(key));
  if (!record) throw new CodedError('unauthorized', 'unknown key: check it, or ask the operator for one (`sparecycles key create`)');
  if (record.revokedAt !== null) throw new CodedError('unauthorized', REVOKED_MESSAGE);
  return principalOf(record);
}

/** Declares `request.principal` on `app` (before any hook sets it; null until then, so unset fails closed). */
export function decoratePrincipal(app: FastifyInstance): void {
  app.decorateRequest('principal', null as unknown as Principal);
}

/**
 * An onRequest hook: an address out of tries → 429 with `retry-after`; no or malformed
 * `Authorization` → 401; an unknown or revoked key → 401, counted against the address.
 */
export function authenticate(deps: AuthDeps): onRequestAsyncHookHandler {
  return async (request, reply) => {
    const retryAfterMs = deps.failures.retryAfterMs(request.ip, deps.now());
    if (retryAfterMs > 0) {
      reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
      throw new CodedError('rate_limited', `too many failed authentications from this address; try again in ${retryAfterMs} ms`);
    }
    const key = bearerKey(request.headers.authorization);
    if (!key) throw new CodedError('unauthorized', 'missing credentials: send Authorization: Bearer <key>');
    try {
      request.principal = await resolvePrincipal(key, deps);
    } catch (error) {
      if (error instanceof CodedError && error.code === 'unauthorized') deps.failures.failed(request.ip, deps.now());
      throw error;
    }
  };
}

const ROLE_NAMES: Record<Role, string> = { operator: 'the operator', author: 'a task author', site: 'a site owner' };

/** An onRequest hook (after `authenticate`): a key of another role → 403 naming the roles needed. */
export function requireRole(...roles: Role[]): onRequestAsyncHookHandler {
  const needed = roles.map((role) => ROLE_NAMES[role]).join(' or ');
  return async (request) => {
    const { role } = request.principal;
    if (!roles.includes(role)) {
      throw new CodedError('forbidden', `this needs the key of ${needed}; yours is ${ROLE_NAMES[role]}'s (role ${role})`);
    }
  };
}

/**
 * The rate of failed authentications per client address: each wrong or revoked key takes a token
 * from the address's bucket (`burst` tokens, refilled at `perMinute`); an address with no token
 * left is refused before its key is even looked at, so a guesser learns nothing more until the
 * bucket refills, while other addresses (and honest keys from them) are unaffected. IPv6 addresses
 * count by their /64 (`addressKey`).
 * Decisions over injected time, as in `sites/rate-limit.ts`, whose buckets it uses.
 */
import { addressKey } from '../socket/address.ts';
import { createRateLimiter } from '../sites/index.ts';

// Kept importable from here: the per-address rule is one, shared with the socket's limits.
export { addressKey };

export interface FailedAuthLimits {
  /** Failures an address may make in a row before it is refused. */
  burst: number;
  /** Failures an address is allowed again per minute, once its burst is spent. */
  perMinute: number;
}

/** Default: 10 failures in a row, then one a second. */
export const DEFAULT_FAILED_AUTH_LIMITS: FailedAuthLimits = Object.freeze({ burst: 10, perMinute: 60 });

export interface FailedAuthLimiter {
  /** 0 when `address` may present a key at `now`, else how long (ms) until it may. */
  retryAfterMs(address: string, now: number): number;
  /** Counts a failed authentication from `address` at `now`. */
  failed(address: string, now: number): void;
}

/** A limiter over at most `maxAddresses` buckets (see `createRateLimiter` for what forgetting one costs). */
export function createFailedAuthLimiter(limits: FailedAuthLimits = DEFAULT_FAILED_AUTH_LIMITS, maxAddresses = 100_000): FailedAuthLimiter {
  const buckets = createRateLimiter(maxAddresses);
  return {
    retryAfterMs(address, now) {
      const decision = buckets.peek(addressKey(address), limits.perMinute, now, limits.burst);
      return decision.allowed ? 0 : decision.retryAfterMs;
    },
    failed(address, now) {
      buckets.take(addressKey(address), limits.perMinute, now, limits.burst);
    },
  };
}

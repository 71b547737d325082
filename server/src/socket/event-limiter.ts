/**
 * Token buckets for volunteer socket events, per connection and per address (`addressKey`).
 *
 * Every event takes a token from both buckets before any work is done; an event that turns out
 * productive gives its tokens back: a `lease` answered with leases, a `result` or `fail`
 * accepted for a lease granted on this connection (once per lease). Productive events are bounded
 * by the grants themselves (a volunteer holds at most `workers × 2` leases), so an honest
 * volunteer, however fast and however many workers it runs, spends tokens only on empty lease
 * answers, stale reports and mistakes; a flood of anything else runs dry after the burst. A batch
 * event costs one token like any event. A `lease` costs `LEASE_COST` tokens: it runs a claim (a
 * store transaction), where a report is one lookup.
 *
 * A refused event is answered `rate_limited` with `retryAfterMs`; a connection that collects
 * `floodDisconnect` refusals (a bucket refilling at the connection's rate) is to be closed.
 * Decisions over injected time (`now`), so they replay in tests.
 */
import { createRateLimiter, peekToken, takeToken, type Bucket } from '../sites/index.ts';

export interface EventLimits {
  /** Unproductive events one connection may send a second, after its burst. */
  perConnectionPerSecond: number;
  perConnectionBurst: number;
  /** The same for all connections of one address together. */
  perAddressPerSecond: number;
  perAddressBurst: number;
  /** Refusals a connection may collect in a row (refilling at its rate) before it is closed. */
  floodDisconnect: number;
}

/** One connection's buckets. */
export interface ConnectionBuckets {
  address: string;
  events: Bucket | undefined;
  refusals: Bucket | undefined;
}

export type EventDecision =
  | { allowed: true }
  | { allowed: false; retryAfterMs: number; disconnect: boolean };

export interface EventLimiter {
  /** Buckets for a new connection from `address` (already an `addressKey`). */
  open(address: string): ConnectionBuckets;
  /** Takes `cost` tokens for one event, or says how long to wait (and whether to close the connection). */
  take(connection: ConnectionBuckets, now: number, cost?: number): EventDecision;
  /** Gives back the tokens of an event that proved productive. */
  refund(connection: ConnectionBuckets, now: number, cost?: number): void;
}

const perMinute = (perSecond: number): number => perSecond * 60;

/** Tokens a `lease` event costs (given back when it grants leases). */
export const LEASE_COST = 4;

/** Adds one token to `bucket`, refilled up to `now`, never past `burst`. */
function giveBack(bucket: Bucket | undefined, perSecond: number, now: number, burst: number): Bucket {
  const refilled = peekToken(bucket, perMinute(perSecond), now, burst).bucket;
  return { tokens: Math.min(burst, refilled.tokens + 1), at: now };
}

/** A limiter over at most `maxAddresses` address buckets (refilled ones forgotten first). */
export function createEventLimiter(limits: EventLimits, maxAddresses = 100_000): EventLimiter {
  const addresses = createRateLimiter(maxAddresses);
  const connectionRate = perMinute(limits.perConnectionPerSecond);
  const addressRate = perMinute(limits.perAddressPerSecond);
  return {
    open: (address) => ({ address, events: undefined, refusals: undefined }),
    take(connection, now, cost = 1) {
      const own = peekToken(connection.events, connectionRate, now, limits.perConnectionBurst);
      const shared = addresses.peek(connection.address, addressRate, now, limits.perAddressBurst);
      const ownTokens = own.bucket.tokens;
      const sharedTokens = shared.bucket.tokens;
      if (ownTokens >= cost && sharedTokens >= cost) {
        connection.events = { tokens: ownTokens - cost, at: now };
        for (let i = 0; i < cost; i++) addresses.take(connection.address, addressRate, now, limits.perAddressBurst);
        return { allowed: true };
      }
      const wait = (tokens: number, perSecond: number): number => Math.max(0, Math.ceil(((cost - tokens) * 1000) / perSecond));
      const retryAfterMs = Math.max(1, wait(ownTokens, limits.perConnectionPerSecond), wait(sharedTokens, limits.perAddressPerSecond));
      const refusal = takeToken(connection.refusals, connectionRate, now, limits.floodDisconnect);
      connection.refusals = refusal.bucket;
      return { allowed: false, retryAfterMs, disconnect: !refusal.allowed };
    },
    refund(connection, now, cost = 1) {
      for (let i = 0; i < cost; i++) {
        connection.events = giveBack(connection.events, limits.perConnectionPerSecond, now, limits.perConnectionBurst);
        addresses.refund(connection.address, addressRate, now, limits.perAddressBurst);
      }
    },
  };
}

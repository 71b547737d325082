/**
 * Rate limits of the host page's `run()` fallback on the grid, as pure decisions over plain data.
 * Each key (a client address, a site) has a token bucket of `burst` tokens (default `perMinute`)
 * that refills continuously at `perMinute` a minute: a burst of up to `burst` calls, then one call
 * every `60 000 / perMinute` ms. `now` is a parameter, so every decision can be replayed.
 * (The REST API's failed authentications use the same buckets: see `accounts/failed-auth.ts`.)
 */

/** One key's bucket: tokens left at `at` (epoch ms). */
export interface Bucket {
  tokens: number;
  at: number;
}

export type RateDecision =
  | { allowed: true; bucket: Bucket }
  | { allowed: false; bucket: Bucket; retryAfterMs: number };

const MINUTE_MS = 60_000;

/** What `bucket` (a full one when `undefined`) holds at `now`. */
function refilled(bucket: Bucket | undefined, perMinute: number, now: number, burst: number): number {
  // A clock that went back refills nothing (and never drains).
  const elapsed = bucket ? Math.max(0, now - bucket.at) : 0;
  return bucket ? Math.min(burst, bucket.tokens + (elapsed * perMinute) / MINUTE_MS) : burst;
}

/** Whether `bucket` has a token at `now`, without taking it (the bucket, refilled, either way). */
export function peekToken(bucket: Bucket | undefined, perMinute: number, now: number, burst = perMinute): RateDecision {
  const tokens = refilled(bucket, perMinute, now, burst);
  if (tokens >= 1) return { allowed: true, bucket: { tokens, at: now } };
  return { allowed: false, bucket: { tokens, at: now }, retryAfterMs: Math.ceil(((1 - tokens) * MINUTE_MS) / perMinute) };
}

/** Takes one token from `bucket` (a full one when `undefined`), refilled up to `now`. */
export function takeToken(bucket: Bucket | undefined, perMinute: number, now: number, burst = perMinute): RateDecision {
  const decision = peekToken(bucket, perMinute, now, burst);
  return decision.allowed ? { allowed: true, bucket: { tokens: decision.bucket.tokens - 1, at: now } } : decision;
}

/** A bucket that has refilled by `now` carries no information and can be forgotten. */
export function isFull(bucket: Bucket, perMinute: number, now: number, burst = perMinute): boolean {
  return bucket.tokens + Math.max(0, now - bucket.at) * (perMinute / MINUTE_MS) >= burst;
}

/** Buckets by key, in memory, bounded in size. */
export interface RateLimiter {
  /** Takes a token for `key` at `now` (a bucket of `burst` tokens, default `perMinute`). */
  take(key: string, perMinute: number, now: number, burst?: number): RateDecision;
  /** Whether `key` has a token at `now`, without taking it. */
  peek(key: string, perMinute: number, now: number, burst?: number): RateDecision;
  /** Gives one token back to `key` (never past `burst`): the socket refunds productive events. */
  refund(key: string, perMinute: number, now: number, burst?: number): void;
  size(): number;
}

/**
 * A limiter that keeps at most `maxKeys` buckets: when full, it forgets buckets that have
 * refilled, then the least recently used ones. Forgetting a bucket can only give that key a
 * fresh burst, so an attacker who floods it with new keys (addresses) gains at most what those
 * keys would have had anyway; the per-site bucket bounds the total.
 */
export function createRateLimiter(maxKeys = 100_000): RateLimiter {
  const buckets = new Map<string, { bucket: Bucket; perMinute: number; burst: number }>();
  const evict = (now: number): void => {
    for (const [key, entry] of buckets) {
      if (isFull(entry.bucket, entry.perMinute, now, entry.burst)) buckets.delete(key);
    }
    // Map iteration follows insertion order, and `take` re-inserts: the first keys are the oldest.
    for (const key of buckets.keys()) {
      if (buckets.size < maxKeys) break;
      buckets.delete(key);
    }
  };
  return {
    take(key, perMinute, now, burst = perMinute) {
      const entry = buckets.get(key);
      const decision = takeToken(entry?.bucket, perMinute, now, burst);
      buckets.delete(key);
      if (buckets.size >= maxKeys) evict(now);
      buckets.set(key, { bucket: decision.bucket, perMinute, burst });
      return decision;
    },
    peek(key, perMinute, now, burst = perMinute) {
      return peekToken(buckets.get(key)?.bucket, perMinute, now, burst);
    },
    refund(key, perMinute, now, burst = perMinute) {
      const entry = buckets.get(key);
      if (!entry) return;
      const tokens = Math.min(burst, peekToken(entry.bucket, perMinute, now, burst).bucket.tokens + 1);
      entry.bucket = { tokens, at: now };
    },
    size: () => buckets.size,
  };
}

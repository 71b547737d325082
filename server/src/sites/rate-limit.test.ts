import { describe, expect, it } from 'vitest';
import { createRateLimiter, isFull, takeToken, type Bucket } from './rate-limit.ts';

describe('takeToken', () => {
  it.each<[string, Bucket | undefined, number, number, boolean, number | undefined]>([
    ['a new key has a full bucket', undefined, 30, 0, true, undefined],
    ['the last token goes', { tokens: 1, at: 0 }, 30, 0, true, undefined],
    ['an empty bucket refuses, saying when a token comes', { tokens: 0, at: 0 }, 30, 0, false, 2000],
    ['half a token refuses for the other half', { tokens: 0.5, at: 0 }, 60, 0, false, 500],
    ['refilled after 2 s at 30 a minute', { tokens: 0, at: 0 }, 30, 2000, true, undefined],
    ['not quite refilled', { tokens: 0, at: 0 }, 30, 1999, false, 1],
    ['a clock that went back refills nothing', { tokens: 0, at: 5000 }, 30, 0, false, 2000],
  ])('%s', (_name, bucket, perMinute, now, allowed, retryAfterMs) => {
    const decision = takeToken(bucket, perMinute, now);
    expect(decision.allowed).toBe(allowed);
    if (!decision.allowed) expect(decision.retryAfterMs).toBe(retryAfterMs);
  });

  it('never holds more than perMinute tokens, however long it rested', () => {
    const decision = takeToken({ tokens: 0, at: 0 }, 10, 10 * 60_000);
    expect(decision.bucket.tokens).toBe(9);
  });

  it('a burst of perMinute calls, then one per refill interval', () => {
    let bucket: Bucket | undefined;
    const allowed: number[] = [];
    for (let t = 0; t < 10_000; t += 100) {
      const decision = takeToken(bucket, 6, t);
      bucket = decision.bucket;
      if (decision.allowed) allowed.push(t);
    }
    // 6 at once, then one every 10 s: none more within the first 10 s.
    expect(allowed).toEqual([0, 100, 200, 300, 400, 500]);
  });
});

describe('isFull', () => {
  it.each([
    [{ tokens: 30, at: 0 }, 0, true],
    [{ tokens: 29, at: 0 }, 0, false],
    [{ tokens: 29, at: 0 }, 2000, true],
  ])('%j at %d → %s', (bucket, now, full) => {
    expect(isFull(bucket, 30, now)).toBe(full);
  });
});

describe('createRateLimiter', () => {
  it('keeps keys apart', () => {
    const limiter = createRateLimiter();
    expect(limiter.take('a', 1, 0).allowed).toBe(true);
    expect(limiter.take('a', 1, 0).allowed).toBe(false);
    expect(limiter.take('b', 1, 0).allowed).toBe(true);
  });

  it('stays within maxKeys, forgetting refilled buckets first, then the oldest', () => {
    const limiter = createRateLimiter(3);
    limiter.take('a', 1, 0);
    limiter.take('b', 1, 0);
    limiter.take('c', 1, 0);
    limiter.take('d', 1, 1000);
    expect(limiter.size()).toBeLessThanOrEqual(3);
    // `a` was the oldest and was forgotten: it gets a fresh bucket.
    expect(limiter.take('a', 1, 1000).allowed).toBe(true);
    expect(limiter.size()).toBeLessThanOrEqual(3);
  });
});

import { describe, expect, it } from 'vitest';
import { createEventLimiter, type EventLimits } from './event-limiter.ts';

const LIMITS: EventLimits = { perConnectionPerSecond: 10, perConnectionBurst: 5, perAddressPerSecond: 20, perAddressBurst: 8, floodDisconnect: 3 };

describe('createEventLimiter', () => {
  it('allows a connection its burst, then refuses with the wait for the next token', () => {
    const limiter = createEventLimiter(LIMITS);
    const connection = limiter.open('203.0.113.1');
    for (let i = 0; i < 5; i++) expect(limiter.take(connection, 0)).toEqual({ allowed: true });
    expect(limiter.take(connection, 0)).toEqual({ allowed: false, retryAfterMs: 100, disconnect: false });
    // One token a tenth of a second.
    expect(limiter.take(connection, 100)).toEqual({ allowed: true });
  });

  it('refunds productive events: an honest stream of granted answers never runs dry', () => {
    const limiter = createEventLimiter(LIMITS);
    const connection = limiter.open('203.0.113.1');
    for (let i = 0; i < 2_000; i++) {
      expect(limiter.take(connection, i * 0.1).allowed).toBe(true);
      limiter.refund(connection, i * 0.1);
    }
  });

  it('shares the address bucket between its connections; other addresses are unaffected', () => {
    const limiter = createEventLimiter(LIMITS);
    const a = limiter.open('203.0.113.1');
    const b = limiter.open('203.0.113.1');
    for (let i = 0; i < 5; i++) expect(limiter.take(a, 0).allowed).toBe(true);
    for (let i = 0; i < 3; i++) expect(limiter.take(b, 0).allowed).toBe(true);
    expect(limiter.take(b, 0)).toMatchObject({ allowed: false, retryAfterMs: 50 });
    expect(limiter.take(limiter.open('203.0.113.2'), 0)).toEqual({ allowed: true });
  });

  it('charges a costlier event several tokens, and gives them all back when it proves productive', () => {
    const limiter = createEventLimiter(LIMITS);
    const connection = limiter.open('203.0.113.1');
    expect(limiter.take(connection, 0, 4)).toEqual({ allowed: true });
    // One token left of five: a second costly event waits for three more (0.3 s at 10/s).
    expect(limiter.take(connection, 0, 4)).toEqual({ allowed: false, retryAfterMs: 300, disconnect: false });
    limiter.refund(connection, 0, 4);
    expect(limiter.take(connection, 0, 4)).toEqual({ allowed: true });
  });

  it('says to close a connection that keeps sending past its refusals', () => {
    const limiter = createEventLimiter(LIMITS);
    const connection = limiter.open('203.0.113.1');
    for (let i = 0; i < 5; i++) limiter.take(connection, 0);
    const refusals = Array.from({ length: 4 }, () => limiter.take(connection, 0));
    expect(refusals.map((decision) => !decision.allowed && decision.disconnect)).toEqual([false, false, false, true]);
  });

  it('forgives refusals as time passes: a client that waits as told is never closed', () => {
    const limiter = createEventLimiter(LIMITS);
    const connection = limiter.open('203.0.113.1');
    let t = 0;
    for (let i = 0; i < 1000; i++) {
      const decision = limiter.take(connection, t);
      if (!decision.allowed) {
        expect(decision.disconnect).toBe(false);
        t += decision.retryAfterMs;
      }
    }
  });
});

import { describe, expect, it } from 'vitest';
import { addressKey, createFailedAuthLimiter } from './failed-auth.ts';

/** A script of events at times: `fail` counts a failure, `ask` expects a retry-after (0: may try). */
type Step = [at: number, address: string, event: 'fail'] | [at: number, address: string, event: 'ask', retryAfterMs: number];

describe('failed authentications per address', () => {
  it.each<[string, Step[]]>([
    ['a new address may try', [[0, 'a', 'ask', 0]]],
    ['nine failures leave one try', [...Array.from({ length: 9 }, (): Step => [0, 'a', 'fail']), [0, 'a', 'ask', 0]]],
    ['ten failures in a row: refused for a second', [...Array.from({ length: 10 }, (): Step => [0, 'a', 'fail']), [0, 'a', 'ask', 1000], [400, 'a', 'ask', 600]]],
    ['one try back a second later, then refused again', [
      ...Array.from({ length: 10 }, (): Step => [0, 'a', 'fail']),
      [1000, 'a', 'ask', 0],
      [1000, 'a', 'fail'],
      [1000, 'a', 'ask', 1000],
    ]],
    ['another address is not affected', [...Array.from({ length: 10 }, (): Step => [0, 'a', 'fail']), [0, 'b', 'ask', 0]]],
    ['a full burst again after ten quiet seconds', [
      ...Array.from({ length: 10 }, (): Step => [0, 'a', 'fail']),
      ...Array.from({ length: 9 }, (): Step => [10_000, 'a', 'fail']),
      [10_000, 'a', 'ask', 0],
    ]],
  ])('%s', (_name, steps) => {
    const limiter = createFailedAuthLimiter({ burst: 10, perMinute: 60 });
    for (const step of steps) {
      if (step[2] === 'fail') limiter.failed(step[1], step[0]);
      else expect(limiter.retryAfterMs(step[1], step[0]), `at ${step[0]} for ${step[1]}`).toBe(step[3]);
    }
  });

  it('5,000 guesses in one second from one address: ten are looked at', () => {
    const limiter = createFailedAuthLimiter({ burst: 10, perMinute: 60 });
    let lookedAt = 0;
    for (let i = 0; i < 5000; i++) {
      const at = Math.floor(i / 5);
      if (limiter.retryAfterMs('attacker', at) > 0) continue;
      lookedAt++;
      limiter.failed('attacker', at);
    }
    expect(lookedAt).toBe(10); // the burst; the next token comes a second after the last failure
  });
});

describe('addressKey', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:DB8:0001:0002::7', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:db8:0:0:ffff::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ])('%s → %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });

  it('every address of one /64 shares a bucket', () => {
    const limiter = createFailedAuthLimiter({ burst: 10, perMinute: 60 });
    for (let i = 0; i < 10; i++) limiter.failed(`2001:db8:1:2::${i.toString(16)}`, 0);
    expect(limiter.retryAfterMs('2001:db8:1:2:ffff::9', 0)).toBe(1000);
    expect(limiter.retryAfterMs('2001:db8:1:3::1', 0)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { expiryCutoff, grantCount, leaseLimits, revocationsBySession, toWireLease } from './leases.ts';

describe('grantCount', () => {
  it.each([
    [1, 16, 1],
    [4, 16, 4],
    [16, 16, 16],
    [64, 16, 16],
    [3.9, 16, 3],
    [0, 16, 0],
    [-2, 16, 0],
    [Number.NaN, 16, 0],
    [Number.POSITIVE_INFINITY, 16, 0],
    [8, 0, 0],
  ])('slots %d with cap %d grants %d', (slots, cap, expected) => {
    expect(grantCount(slots, cap)).toBe(expected);
  });

  it('caps at 8 by default: one ack packet stays within socket.io-client\'s 10 attachments', () => {
    expect(grantCount(64)).toBe(8);
  });
});

describe('expiryCutoff', () => {
  it.each([
    [10_000, 2000, 8000],
    [10_000, 0, 10_000],
    [10_000, -50, 10_000],
  ])('at %d with grace %d leases due before %d are overdue', (now, grace, expected) => {
    expect(expiryCutoff(now, grace)).toBe(expected);
  });
});

describe('wire leases', () => {
  const limits = { maxMemoryBytes: 64 * 65_536, maxOutputBytes: 1_000_000 };

  it('gives the runtime the job deadline as its time budget', () => {
    expect(leaseLimits(2500, limits)).toEqual({ timeMs: 2500, ...limits });
  });

  it('builds the lease a volunteer receives', () => {
    const input = new Uint8Array([1, 2]);
    const claimed = { leaseId: 'l1', taskId: 'j:0', jobId: 'j', index: 0, moduleHash: 'ab', input, deadline: 9000, deadlineMs: 3000 };
    expect(toWireLease(claimed, (h) => `/modules/${h}.wasm`, limits)).toEqual({
      leaseId: 'l1',
      taskId: 'j:0',
      module: { hash: 'ab', url: '/modules/ab.wasm' },
      input,
      deadline: 9000,
      limits: { timeMs: 3000, ...limits },
    });
  });

  it('groups revocations per session', () => {
    const grouped = revocationsBySession([
      { leaseId: 'a', volunteerId: 'v1', sessionId: 's1', jobId: 'j' },
      { leaseId: 'b', volunteerId: 'v2', sessionId: 's2', jobId: 'j' },
      { leaseId: 'c', volunteerId: 'v1', sessionId: 's1', jobId: 'j' },
    ]);
    expect([...grouped]).toEqual([
      ['s1', ['a', 'c']],
      ['s2', ['b']],
    ]);
    expect(revocationsBySession([]).size).toBe(0);
  });
});

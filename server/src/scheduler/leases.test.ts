import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PREFETCH_PER_WORKER, expiryCutoff, grantCount, leaseBudget, leaseLimits, revocationsBySession, toWireLease, type LeaseBudget } from './leases.ts';

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

describe('leaseBudget', () => {
  const budget = (fields: Partial<LeaseBudget>): LeaseBudget => ({ asked: 8, quota: 64, heldByVolunteer: 0, heldBySession: 0, ...fields });

  it('grants what was asked when nothing bounds it', () => {
    expect(leaseBudget(budget({ asked: 3 }))).toBe(3);
    expect(leaseBudget(budget({ asked: 0 }))).toBe(0);
  });

  it('shares the quota across the volunteer\'s sessions: leases held by its other tabs count', () => {
    expect(leaseBudget(budget({ quota: 16, heldByVolunteer: 12, heldBySession: 0 }))).toBe(4);
    expect(leaseBudget(budget({ quota: 16, heldByVolunteer: 16, heldBySession: 2 }))).toBe(0);
  });

  it(`bounds a session that announced its workers to one running plus ${PREFETCH_PER_WORKER} queued lease each`, () => {
    expect(PREFETCH_PER_WORKER).toBe(1);
    expect(leaseBudget(budget({ workers: 2 }))).toBe(4);
    expect(leaseBudget(budget({ workers: 2, heldBySession: 1, heldByVolunteer: 1 }))).toBe(3);
    // Leases of the volunteer's other sessions do not count against this session's prefetch.
    expect(leaseBudget(budget({ workers: 2, heldBySession: 1, heldByVolunteer: 30 }))).toBe(3);
    // The tighter of the two bounds wins.
    expect(leaseBudget(budget({ workers: 4, quota: 10, heldByVolunteer: 7, heldBySession: 0 }))).toBe(3);
  });

  it('bounds a session that announced no workers by the quota only', () => {
    expect(leaseBudget(budget({ heldBySession: 30, heldByVolunteer: 30 }))).toBe(8);
    expect(leaseBudget(budget({ workers: undefined, heldBySession: 30, heldByVolunteer: 30 }))).toBe(8);
  });

  it('is never negative, even past a quota that was halved or a prefetch bound already exceeded', () => {
    expect(leaseBudget(budget({ quota: 8, heldByVolunteer: 12, heldBySession: 12 }))).toBe(0);
    expect(leaseBudget(budget({ workers: 1, heldBySession: 5, heldByVolunteer: 5 }))).toBe(0);
  });

  it('as a property: within [0, asked], keeps both bounds, and stops only at one of them', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 8 }),
        fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
        fc.integer({ min: 1, max: 256 }),
        fc.integer({ min: 0, max: 300 }).chain((volunteer) => fc.tuple(fc.constant(volunteer), fc.integer({ min: 0, max: volunteer }))),
        (asked, workers, quota, [heldByVolunteer, heldBySession]) => {
          const grant = leaseBudget({ asked, workers, quota, heldByVolunteer, heldBySession });
          expect(Number.isInteger(grant)).toBe(true);
          expect(grant).toBeGreaterThanOrEqual(0);
          expect(grant).toBeLessThanOrEqual(asked);
          // A volunteer already over its quota (it was just lowered) gets nothing more, not less.
          expect(heldByVolunteer + grant).toBeLessThanOrEqual(Math.max(quota, heldByVolunteer));
          const prefetch = workers === undefined ? Infinity : workers * (1 + PREFETCH_PER_WORKER);
          expect(heldBySession + grant).toBeLessThanOrEqual(Math.max(prefetch, heldBySession));
          // Not stingy: short of what was asked only when a bound is reached.
          if (grant < asked) expect(heldByVolunteer + grant >= quota || heldBySession + grant >= prefetch).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
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

  it('builds the lease a volunteer receives, naming its job', () => {
    const input = new Uint8Array([1, 2]);
    const claimed = {
      leaseId: 'l1',
      taskId: 'j:0',
      jobId: 'j',
      jobTitle: 'Primes',
      jobPurpose: null,
      index: 0,
      moduleHash: 'ab',
      input,
      deadline: 9000,
      deadlineMs: 3000,
    };
    expect(toWireLease(claimed, (h) => `/modules/${h}.wasm`, limits)).toEqual({
      leaseId: 'l1',
      taskId: 'j:0',
      job: { id: 'j', title: 'Primes', purpose: null },
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

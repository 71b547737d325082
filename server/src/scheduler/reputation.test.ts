import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FailureKind } from '../protocol/events.ts';
import {
  DEFAULT_QUOTA,
  TRUST_AFTER,
  afterAgreed,
  afterDisagreed,
  afterError,
  afterUnchecked,
  COOLDOWN,
  claimableFrom,
  cooldownMs,
  isStrike,
  isTrusted,
  strikeEscalates,
  newReputation,
  replicationFor,
  resultsToEarn,
  singleReplicaChance,
  type QuotaLimits,
  type Reputation,
} from './reputation.ts';

type Event = 'agreed' | 'disagreed' | 'unchecked' | 'trap' | 'expired';

function apply(rep: Reputation, event: Event, limits: QuotaLimits = DEFAULT_QUOTA): Reputation {
  switch (event) {
    case 'agreed':
      return afterAgreed(rep, limits);
    case 'disagreed':
      return afterDisagreed(rep, limits);
    case 'unchecked':
      return afterUnchecked(rep, limits);
    default:
      return afterError(rep, event, limits);
  }
}

const replay = (events: readonly Event[], limits: QuotaLimits = DEFAULT_QUOTA): Reputation =>
  events.reduce((rep, event) => apply(rep, event, limits), newReputation(limits));

const eventArb = fc.constantFrom<Event>('agreed', 'disagreed', 'unchecked', 'trap', 'expired');
const limitsArb: fc.Arbitrary<QuotaLimits> = fc
  .integer({ min: 1, max: 256 })
  .chain((max) => fc.record({ initial: fc.integer({ min: 1, max }), max: fc.constant(max) }));

describe('a new volunteer', () => {
  it('starts untrusted with the initial quota of 2 (at most 64): quota is earned', () => {
    expect(newReputation()).toEqual({ consecutiveValid: 0, valid: 0, invalid: 0, unchecked: 0, errors: 0, quota: 2, strikes: 0 });
    expect(DEFAULT_QUOTA).toEqual({ initial: 2, max: 64 });
    expect(isTrusted(newReputation())).toBe(false);
    expect(singleReplicaChance(newReputation())).toBe(0);
  });
});

describe('trust', () => {
  it(`comes after exactly ${TRUST_AFTER} agreeing results in a row, and not before`, () => {
    expect(TRUST_AFTER).toBe(10);
    const nine = replay(Array<Event>(TRUST_AFTER - 1).fill('agreed'));
    expect(isTrusted(nine)).toBe(false);
    expect(singleReplicaChance(nine)).toBe(0);
    const ten = afterAgreed(nine);
    expect(isTrusted(ten)).toBe(true);
    expect(ten).toMatchObject({ consecutiveValid: 10, valid: 10, quota: 64 });
  });

  it('is lost at the first disagreement, and has to be earned again from zero', () => {
    const trusted = replay(Array<Event>(25).fill('agreed'));
    const fallen = afterDisagreed(trusted);
    expect(fallen).toMatchObject({ consecutiveValid: 0, valid: 25, invalid: 1, quota: 32 });
    expect(isTrusted(fallen)).toBe(false);
    expect(singleReplicaChance(fallen)).toBe(0);
    expect(isTrusted(replay([...Array<Event>(25).fill('agreed'), 'disagreed', ...Array<Event>(9).fill('agreed')]))).toBe(false);
    expect(isTrusted(replay([...Array<Event>(25).fill('agreed'), 'disagreed', ...Array<Event>(10).fill('agreed')]))).toBe(true);
  });

  it('is neither lengthened by unchecked results nor broken by errors', () => {
    const rep = replay(['agreed', 'unchecked', 'trap', 'expired', 'unchecked', 'agreed']);
    expect(rep).toMatchObject({ consecutiveValid: 2, valid: 2, unchecked: 2, errors: 2, invalid: 0 });
  });

  it('as a property: trusted exactly when the last TRUST_AFTER compared results all agreed', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), (events) => {
        const compared = events.filter((e) => e === 'agreed' || e === 'disagreed');
        const tail = compared.slice(-TRUST_AFTER);
        const expected = tail.length === TRUST_AFTER && tail.every((e) => e === 'agreed');
        const rep = replay(events);
        expect(isTrusted(rep)).toBe(expected);
        const run = compared.length - 1 - compared.lastIndexOf('disagreed');
        expect(rep.consecutiveValid).toBe(run);
        expect(rep.valid + rep.invalid).toBe(compared.length);
        expect(rep.errors).toBe(events.filter((e) => e === 'trap' || e === 'expired').length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('single replicas (adaptive replication)', () => {
  const withRun = (consecutiveValid: number): Reputation => ({ ...newReputation(), consecutiveValid, valid: consecutiveValid });

  it.each([
    [0, 0],
    [9, 0],
    [10, 0.9],
    [20, 0.95],
    [100, 0.99],
  ])('a run of %d agreeing results gives a single-replica chance of %d', (run, chance) => {
    expect(singleReplicaChance(withRun(run))).toBeCloseTo(chance, 12);
  });

  it('as a property: the chance is 1 − 1/run once trusted, 0 before, and grows with the run', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (run) => {
        const chance = singleReplicaChance(withRun(run));
        expect(chance).toBe(run >= TRUST_AFTER ? 1 - 1 / run : 0);
        expect(chance).toBeLessThan(1);
        expect(singleReplicaChance(withRun(run + 1))).toBeGreaterThanOrEqual(chance);
      }),
    );
  });

  it('replicationFor: single exactly when the draw is below the chance, only for replicated jobs that allow it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 16 }).chain((redundancy) => fc.record({ redundancy: fc.constant(redundancy), quorum: fc.integer({ min: 1, max: redundancy }) })),
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.option(fc.boolean(), { nil: undefined }),
        (shape, run, random, adaptive) => {
          const job = adaptive === undefined ? shape : { ...shape, adaptive };
          const rep = withRun(run);
          const decided = replicationFor(job, rep, random);
          // Adaptive unless the job says otherwise.
          const single = adaptive !== false && job.quorum > 1 && random < singleReplicaChance(rep);
          expect(decided).toEqual(single ? { replicas: 1, quorum: 1, single: true } : { replicas: job.redundancy, quorum: job.quorum, single: false });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with a run of 10, nine of ten evenly spread draws give a single replica (1 − 1/10)', () => {
    const rep = withRun(10);
    const draws = Array.from({ length: 10 }, (_, i) => (i + 0.5) / 10);
    const singles = draws.filter((random) => replicationFor({ redundancy: 2, quorum: 2 }, rep, random).single);
    expect(singles).toHaveLength(9);
    expect(replicationFor({ redundancy: 2, quorum: 2 }, rep, 1 - 1 / 10).single).toBe(false);
    expect(replicationFor({ redundancy: 2, quorum: 2 }, rep, 0.8999999).single).toBe(true);
    // A job that accepts the first result anyway is never "spot-checked" differently.
    expect(replicationFor({ redundancy: 3, quorum: 1 }, rep, 0)).toEqual({ replicas: 3, quorum: 1, single: false });
  });
});

describe('quota', () => {
  it('doubles on an agreeing or unchecked result, up to the max', () => {
    expect(afterAgreed(newReputation()).quota).toBe(4);
    expect(afterUnchecked(newReputation()).quota).toBe(4);
    expect(replay(Array<Event>(4).fill('agreed')).quota).toBe(32);
    expect(replay(Array<Event>(5).fill('unchecked')).quota).toBe(64);
    expect(replay(Array<Event>(6).fill('agreed')).quota).toBe(64);
  });

  it('loses one on each reported failure kind, and halves on expiry or disagreement', () => {
    const kinds: FailureKind[] = ['trap', 'timeout', 'memory', 'invalid'];
    const earned = { ...newReputation(), quota: 16 };
    for (const kind of kinds) expect(afterError(earned, kind).quota).toBe(15);
    expect(afterError(earned, 'expired').quota).toBe(8);
    expect(afterDisagreed(earned).quota).toBe(8);
    expect(afterError({ ...newReputation(), quota: 5 }, 'expired').quota).toBe(2);
  });

  it.each([
    [1, 0],
    [2, 0],
    [4, 1],
    [8, 2],
    [16, 3],
    [64, 5],
    [65, Infinity],
  ])('a fresh honest volunteer reaches a quota of %d after %d accepted results', (wanted, results) => {
    expect(resultsToEarn(wanted)).toBe(results);
    if (Number.isFinite(results)) expect(replay(Array<Event>(results).fill('unchecked')).quota).toBeGreaterThanOrEqual(wanted);
  });

  it('throwaway ids earn nothing: a new id that only fails or lets leases expire never holds more than it started with', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<Event>('trap', 'expired', 'disagreed'), { maxLength: 20 }), (events) => {
        expect(replay(events).quota).toBeLessThanOrEqual(DEFAULT_QUOTA.initial);
      }),
    );
  });

  it('an honest volunteer with W workers needs about log2(W) accepted results for the 2W leases its workers and prefetch use', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 32 }), (workers) => {
        expect(resultsToEarn(2 * workers)).toBeLessThanOrEqual(Math.ceil(Math.log2(workers)));
      }),
    );
  });

  it('never goes below one, so a volunteer can earn its way back', () => {
    expect(afterError({ ...newReputation(), quota: 1 }, 'trap').quota).toBe(1);
    expect(afterError({ ...newReputation(), quota: 1 }, 'expired').quota).toBe(1);
    expect(afterDisagreed({ ...newReputation(), quota: 1 }).quota).toBe(1);
    expect(afterAgreed({ ...newReputation(), quota: 1 }).quota).toBe(2);
  });

  it('a hoarder that only lets leases expire is down to one lease within log2(max) expiries', () => {
    let rep = { ...newReputation(), quota: DEFAULT_QUOTA.max };
    const quotas: number[] = [];
    while (rep.quota > 1) {
      rep = afterError(rep, 'expired');
      quotas.push(rep.quota);
    }
    expect(quotas).toEqual([32, 16, 8, 4, 2, 1]);
    expect(replay(['expired', 'expired']).quota).toBe(1);
  });

  it('as a property: stays a whole number within [1, max] under any sequence of events, and each event moves it as stated', () => {
    fc.assert(
      fc.property(limitsArb, fc.array(eventArb, { maxLength: 80 }), (limits, events) => {
        let rep = newReputation(limits);
        expect(rep.quota).toBe(limits.initial);
        for (const event of events) {
          const next = apply(rep, event, limits);
          expect(Number.isInteger(next.quota)).toBe(true);
          expect(next.quota).toBeGreaterThanOrEqual(1);
          expect(next.quota).toBeLessThanOrEqual(limits.max);
          const expected =
            event === 'agreed' || event === 'unchecked'
              ? Math.min(limits.max, rep.quota * 2)
              : event === 'trap'
                ? Math.max(1, rep.quota - 1)
                : Math.max(1, Math.floor(rep.quota / 2));
          expect(next.quota).toBe(expected);
          rep = next;
        }
      }),
      { numRuns: 300 },
    );
  });

  it('as a property: a hoarder reaches one within ceil(log2(max)) expiries from any record', () => {
    fc.assert(
      fc.property(limitsArb, fc.array(eventArb, { maxLength: 40 }), (limits, history) => {
        let rep = replay(history, limits);
        const bound = Math.ceil(Math.log2(limits.max));
        for (let i = 0; i < bound; i++) rep = afterError(rep, 'expired', limits);
        expect(rep.quota).toBe(1);
      }),
      { numRuns: 200 },
    );
  });

  it('does not change the record it is given', () => {
    const rep = newReputation();
    const frozen = Object.freeze({ ...rep });
    for (const event of ['agreed', 'disagreed', 'unchecked', 'trap', 'expired'] as const) apply(frozen, event);
    expect(frozen).toEqual(rep);
  });
});

describe('strikes and cool-down', () => {
  it('a disagreement or an expired lease is a strike; a reported failure is not; an accepted or agreeing result clears them', () => {
    expect(replay(['disagreed']).strikes).toBe(1);
    expect(replay(['expired', 'disagreed', 'expired']).strikes).toBe(3);
    expect(replay(['disagreed', 'trap']).strikes).toBe(1);
    expect(replay(['trap', 'trap']).strikes).toBe(0);
    expect(replay(['disagreed', 'expired', 'agreed']).strikes).toBe(0);
    expect(replay(['disagreed', 'expired', 'unchecked']).strikes).toBe(0);
  });

  it('cools down 1 s after one strike, doubling per strike in a row, at most 60 s', () => {
    expect([0, 1, 2, 3, 6, 7, 100].map(cooldownMs)).toEqual([0, 1_000, 2_000, 4_000, 32_000, 60_000, 60_000]);
    expect(COOLDOWN).toEqual({ baseMs: 1_000, maxMs: 60_000 });
  });

  it('one batch is one strike: a strike for a lease issued before the latest one restarts the cool-down without lengthening the run', () => {
    expect(strikeEscalates(5_000, 0)).toBe(true);
    expect(strikeEscalates(5_000, 5_000)).toBe(false);
    expect(strikeEscalates(5_001, 5_000)).toBe(true);
    expect(strikeEscalates(4_999, 5_000)).toBe(false);
    const once = afterError({ ...newReputation(), quota: 16 }, 'expired');
    expect(afterError(once, 'expired', DEFAULT_QUOTA, false).strikes).toBe(1);
    expect(afterDisagreed(once, DEFAULT_QUOTA, false).strikes).toBe(1);
    // A non-escalating strike still is one: a clean record gets its first.
    expect(afterDisagreed(newReputation(), DEFAULT_QUOTA, false).strikes).toBe(1);
    expect(afterError(once, 'expired', DEFAULT_QUOTA, false).quota).toBe(once.quota / 2);
    expect(['disagreed', 'expired', 'trap', 'memory', 'timeout', 'invalid'].map((event) => isStrike(event as 'disagreed'))).toEqual([true, true, false, false, false, false]);
  });

  it('counts the cool-down from the latest strike; a volunteer without strikes may claim at any time', () => {
    expect(claimableFrom(newReputation(), 123_456)).toBe(0);
    expect(claimableFrom(replay(['disagreed', 'disagreed']), 10_000)).toBe(12_000);
  });

  it('as a property: strikes count the disagreements and expiries since the last accepted or agreeing result', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), (events) => {
        const lastClear = Math.max(events.lastIndexOf('agreed'), events.lastIndexOf('unchecked'));
        const since = events.slice(lastClear + 1);
        expect(replay(events).strikes).toBe(since.filter((event) => event === 'disagreed' || event === 'expired').length);
        const wait = cooldownMs(replay(events).strikes);
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(wait).toBeLessThanOrEqual(COOLDOWN.maxMs);
      }),
      { numRuns: 300 },
    );
  });
});

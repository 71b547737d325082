import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shareSlots, type ShareCandidate, type SharePick } from './fair-share.ts';

/** A job with plenty of claimable work, created in the order the test lists it unless told. */
function job(id: string, fields: Partial<ShareCandidate> = {}): ShareCandidate {
  return { id, moduleHash: `m-${id}`, weight: 1, live: 0, claimable: 100, createdAt: 0, ...fields };
}

const counts = (picks: readonly SharePick[]): Record<string, number> => Object.fromEntries(picks.map((p) => [p.jobId, p.count]));

/**
 * Jobs as the store hands them over: distinct ids, priorities 1 to 1000 (small ones often, so
 * shares tie), a few modules (so locality has something to bend), creation times that collide.
 */
const candidatesArb: fc.Arbitrary<ShareCandidate[]> = fc.uniqueArray(
  fc.record({
    id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
    moduleHash: fc.constantFrom('m0', 'm1', 'm2', 'm3'),
    weight: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 1000 })),
    live: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 2000 })),
    claimable: fc.integer({ min: 0, max: 12 }),
    createdAt: fc.integer({ min: 0, max: 3 }),
  }),
  { selector: (c) => c.id, maxLength: 8 },
);
const slotsArb = fc.integer({ min: 0, max: 40 });
const cachedArb = fc.subarray(['m0', 'm1', 'm2', 'm3']);

/** Each candidate after the claim: its live leases then, and the work it could still take. */
function after(candidates: readonly ShareCandidate[], picks: readonly SharePick[]) {
  const taken = counts(picks);
  return candidates
    .filter((c) => c.claimable > 0)
    .map((c) => ({ ...c, taken: taken[c.id] ?? 0, live: c.live + (taken[c.id] ?? 0), left: c.claimable - (taken[c.id] ?? 0) }));
}

/** j's lead over k in `live / weight`, as an exact fraction [numerator, denominator]: floats would blur ties. */
const aheadBy = (j: { live: number; weight: number }, k: { live: number; weight: number }): [number, number] => [
  j.live * k.weight - k.live * j.weight,
  j.weight * k.weight,
];

describe('shareSlots, by example', () => {
  it('splits evenly between jobs of equal weight, oldest first', () => {
    const jobs = [job('a', { createdAt: 1 }), job('b', { createdAt: 2 }), job('c', { createdAt: 3 })];
    expect(shareSlots(jobs, 6)).toEqual([
      { jobId: 'a', count: 2 },
      { jobId: 'b', count: 2 },
      { jobId: 'c', count: 2 },
    ]);
  });

  it('splits in proportion to priority: weights 3 and 1 share 8 slots 6 to 2, whichever is older', () => {
    expect(counts(shareSlots([job('a', { weight: 3, createdAt: 1 }), job('b', { createdAt: 2 })], 8))).toEqual({ a: 6, b: 2 });
    expect(counts(shareSlots([job('a', { weight: 3, createdAt: 2 }), job('b', { createdAt: 1 })], 8))).toEqual({ a: 6, b: 2 });
  });

  it('counts the leases a job already holds elsewhere towards its share', () => {
    // a already has 6 of its 3:1 share out, so the next leases go to b until b catches up.
    expect(counts(shareSlots([job('a', { weight: 3, live: 6, createdAt: 1 }), job('b', { createdAt: 2 })], 2))).toEqual({ b: 2 });
  });

  it('gives a small job submitted behind a huge one the very next lease', () => {
    const huge = job('huge', { live: 500, createdAt: 1 });
    const small = job('small', { claimable: 3, createdAt: 2 });
    expect(shareSlots([huge, small], 1)).toEqual([{ jobId: 'small', count: 1 }]);
    // Even a huge job of ten times the priority is far past its share at 500 live leases.
    expect(shareSlots([{ ...huge, weight: 10 }, small], 4)).toEqual([
      { jobId: 'small', count: 3 },
      { jobId: 'huge', count: 1 },
    ]);
  });

  it('narrows a large gap lease by lease rather than levelling it in one claim', () => {
    // The header's "from any start" is too strong: one lease cannot level a gap of 99.
    const picks = shareSlots([job('a', { live: 100, claimable: 5 }), job('b', { claimable: 5, createdAt: 1 })], 1);
    expect(picks).toEqual([{ jobId: 'b', count: 1 }]);
    const [a, b] = after([job('a', { live: 100, claimable: 5 }), job('b', { claimable: 5, createdAt: 1 })], picks);
    expect([a!.live, a!.left, b!.live, b!.left]).toEqual([100, 5, 1, 4]);
  });

  it('prefers a job whose module the volunteer holds when that leaves it within one lease of the fairest', () => {
    const far = job('far', { createdAt: 1 });
    const local = job('local', { live: 1, createdAt: 2 });
    // far is fairest (0 + 1 live per weight), local would be at 2: one lease past it.
    expect(shareSlots([far, local], 1)).toEqual([{ jobId: 'far', count: 1 }]);
    expect(shareSlots([far, local], 1, ['m-local'])).toEqual([{ jobId: 'local', count: 1 }]);
    // At 2 live, local would end two leases past the fairest: fairness wins.
    expect(shareSlots([far, { ...local, live: 2 }], 1, ['m-local'])).toEqual([{ jobId: 'far', count: 1 }]);
  });

  it('bends the share by one lease only, however many slots the claim has', () => {
    const jobs = [job('far', { createdAt: 1 }), job('local', { live: 1, createdAt: 2 })];
    expect(counts(shareSlots(jobs, 4))).toEqual({ far: 3, local: 1 });
    expect(shareSlots(jobs, 4, ['m-local'])).toEqual([
      { jobId: 'local', count: 2 },
      { jobId: 'far', count: 2 },
    ]);
  });

  it('measures the one lease of slack in the local job\'s own weight', () => {
    const far = job('far', { createdAt: 1 });
    // Weight 2: 2 live is a share of 1 (within one lease of far's 1), 3 live is 1.5 (not).
    expect(shareSlots([far, job('local', { weight: 2, live: 2 })], 1, ['m-local'])).toEqual([{ jobId: 'local', count: 1 }]);
    expect(shareSlots([far, job('local', { weight: 2, live: 3 })], 1, ['m-local'])).toEqual([{ jobId: 'far', count: 1 }]);
  });

  it('among local jobs takes the fairest one', () => {
    const jobs = [job('far', { createdAt: 1 }), job('x', { live: 1, createdAt: 2, moduleHash: 'm' }), job('y', { createdAt: 3, moduleHash: 'm' })];
    expect(shareSlots(jobs, 1, ['m'])).toEqual([{ jobId: 'y', count: 1 }]);
  });

  it('breaks ties by age, then by the smaller id, whatever the input order', () => {
    expect(shareSlots([job('z', { createdAt: 2 }), job('y', { createdAt: 1 })], 1)).toEqual([{ jobId: 'y', count: 1 }]);
    expect(shareSlots([job('b', { createdAt: 5 }), job('a', { createdAt: 5 })], 1)).toEqual([{ jobId: 'a', count: 1 }]);
    expect(shareSlots([job('a', { createdAt: 5 }), job('b', { createdAt: 5 })], 1)).toEqual([{ jobId: 'a', count: 1 }]);
    // A tie with a local job still goes to the local one: it is within one lease.
    expect(shareSlots([job('a', { createdAt: 1 }), job('b', { createdAt: 2 })], 1, ['m-b'])).toEqual([{ jobId: 'b', count: 1 }]);
  });

  it('never takes more from a job than it has claimable', () => {
    expect(counts(shareSlots([job('a', { claimable: 2 }), job('b', { claimable: 1, createdAt: 1 })], 8))).toEqual({ a: 2, b: 1 });
    // The heavy job runs out; the rest goes to the light one.
    expect(counts(shareSlots([job('a', { weight: 1000, claimable: 1 }), job('b', { claimable: 5, createdAt: 1 })], 4))).toEqual({ a: 1, b: 3 });
    expect(counts(shareSlots([job('a', { claimable: 2 })], 5, ['m-a']))).toEqual({ a: 2 });
  });

  it.each([0, -1, -3.5, 0.9, Number.NaN, Number.NEGATIVE_INFINITY])('takes nothing for %d slots', (slots) => {
    expect(shareSlots([job('a'), job('b', { createdAt: 1 })], slots)).toEqual([]);
  });

  it('rounds fractional slots down, and with unbounded slots takes everything claimable', () => {
    expect(counts(shareSlots([job('a'), job('b', { createdAt: 1 })], 2.9))).toEqual({ a: 1, b: 1 });
    expect(counts(shareSlots([job('a', { claimable: 3 }), job('b', { claimable: 2, createdAt: 1 })], Number.POSITIVE_INFINITY))).toEqual({ a: 3, b: 2 });
  });

  it('ignores candidates with nothing claimable, however far behind their share', () => {
    const jobs = [job('empty', { claimable: 0, weight: 1000 }), job('neg', { claimable: -2, weight: 1000 }), job('b', { live: 40, createdAt: 1 })];
    expect(shareSlots(jobs, 3)).toEqual([{ jobId: 'b', count: 3 }]);
    expect(shareSlots([job('empty', { claimable: 0 })], 3, ['m-empty'])).toEqual([]);
    expect(shareSlots([], 3)).toEqual([]);
  });

  it('treats a weight below 1 as 1 and negative live leases as none', () => {
    expect(counts(shareSlots([job('a', { weight: 0, live: -5 }), job('b', { createdAt: 1 })], 4))).toEqual({ a: 2, b: 2 });
    expect(counts(shareSlots([job('a', { weight: 0.5 }), job('b', { createdAt: 1 })], 4))).toEqual({ a: 2, b: 2 });
  });

  it('lists picks in the order their first lease was assigned, one per job, without zero counts', () => {
    // Input and age order are a, c, b; b is furthest behind, then c; a takes nothing.
    const jobs = [job('a', { live: 5, createdAt: 1 }), job('c', { live: 2, createdAt: 3 }), job('b', { createdAt: 2 })];
    expect(shareSlots(jobs, 4)).toEqual([
      { jobId: 'b', count: 3 },
      { jobId: 'c', count: 1 },
    ]);
  });
});

describe('shareSlots, as properties', () => {
  it('takes min(floor(slots), total claimable) leases, at most claimable from each job, one positive pick per job', () => {
    fc.assert(
      fc.property(
        candidatesArb,
        fc.oneof(slotsArb, fc.double({ min: -5, max: 60, noNaN: true })),
        cachedArb,
        (candidates, slots, cached) => {
          const picks = shareSlots(candidates, slots, cached);
          const claimable = new Map(candidates.map((c) => [c.id, c.claimable]));
          const total = candidates.reduce((n, c) => n + Math.max(0, c.claimable), 0);
          expect(picks.reduce((n, p) => n + p.count, 0)).toBe(Math.min(Math.max(0, Math.floor(slots)), total));
          expect(new Set(picks.map((p) => p.jobId)).size).toBe(picks.length);
          for (const { jobId, count } of picks) {
            expect(Number.isInteger(count)).toBe(true);
            expect(count).toBeGreaterThan(0);
            expect(count).toBeLessThanOrEqual(claimable.get(jobId) ?? 0);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with no module cached, gives the first lease to the job minimising (live + 1) / weight, ties to the older then smaller id', () => {
    fc.assert(
      fc.property(candidatesArb, (candidates) => {
        const first = shareSlots(candidates, 1)[0];
        const open = candidates.filter((c) => c.claimable > 0);
        expect(first === undefined).toBe(open.length === 0);
        if (!first) return;
        const f = open.find((c) => c.id === first.jobId)!;
        for (const k of open) {
          const [lead] = aheadBy({ live: f.live + 1, weight: f.weight }, { live: k.live + 1, weight: k.weight });
          expect(lead, `${f.id} before ${k.id}`).toBeLessThanOrEqual(0);
          if (lead === 0 && k !== f) expect(f.createdAt < k.createdAt || (f.createdAt === k.createdAt && f.id < k.id)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: the same answer whatever the order of the candidates or of the cached modules', () => {
    fc.assert(
      fc.property(
        candidatesArb.chain((cs) => fc.tuple(fc.constant(cs), fc.shuffledSubarray(cs, { minLength: cs.length, maxLength: cs.length }))),
        slotsArb,
        cachedArb.chain((ms) => fc.tuple(fc.constant(ms), fc.shuffledSubarray(ms, { minLength: ms.length, maxLength: ms.length }))),
        ([candidates, shuffled], slots, [cached, reordered]) => {
          const frozen = Object.freeze(candidates.map((c) => Object.freeze({ ...c })));
          const picks = shareSlots(frozen, slots, cached);
          expect(shareSlots(shuffled, slots, [...reordered, ...reordered])).toEqual(picks);
          expect(shareSlots(frozen, slots, cached)).toEqual(picks);
          expect(frozen).toEqual(candidates);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('with no module cached, a job that took a lease ends at most 1 / w_k past any job k that could still take work', () => {
    // The header's tolerance, made exact: live_j / w_j − live_k / w_k ≤ 1 / w_k, k being the job behind.
    fc.assert(
      fc.property(candidatesArb, slotsArb, (candidates, slots) => {
        const jobs = after(candidates, shareSlots(candidates, slots));
        for (const j of jobs) {
          if (j.taken === 0) continue;
          for (const k of jobs) {
            if (k === j || k.left <= 0) continue;
            const [gap, denominator] = aheadBy(j, k);
            expect(gap, `${j.id} over ${k.id}`).toBeLessThanOrEqual(denominator / k.weight);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('with no module cached, never widens the gap between two jobs that could still take work past 1 / w_k', () => {
    // From any start, a gap is either closed to the tolerance or not widened; from a start within
    // the tolerance every pair stays within it.
    fc.assert(
      fc.property(candidatesArb, slotsArb, (candidates, slots) => {
        const before = new Map(candidates.map((c) => [c.id, c]));
        const jobs = after(candidates, shareSlots(candidates, slots));
        for (const j of jobs) {
          for (const k of jobs) {
            if (k === j || j.left <= 0 || k.left <= 0) continue;
            const [gap, denominator] = aheadBy(j, k);
            const [gapBefore] = aheadBy(before.get(j.id)!, before.get(k.id)!);
            expect(gap, `${j.id} over ${k.id}`).toBeLessThanOrEqual(Math.max(gapBefore, denominator / k.weight));
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('with locality, only a job whose module is cached gets slack, and at most one lease of its own weight more', () => {
    fc.assert(
      fc.property(candidatesArb, slotsArb, cachedArb, (candidates, slots, cached) => {
        const jobs = after(candidates, shareSlots(candidates, slots, cached));
        for (const j of jobs) {
          if (j.taken === 0) continue;
          const local = cached.includes(j.moduleHash);
          for (const k of jobs) {
            if (k === j || k.left <= 0) continue;
            const [gap, denominator] = aheadBy(j, k);
            // live_j / w_j − live_k / w_k ≤ 1 / w_k (+ 1 / w_j when j's module is cached).
            const bound = denominator / k.weight + (local ? denominator / j.weight : 0);
            expect(gap, `${j.id} over ${k.id}`).toBeLessThanOrEqual(bound);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('with every module cached, or only modules no job uses, locality changes nothing', () => {
    fc.assert(
      fc.property(candidatesArb, slotsArb, (candidates, slots) => {
        const plain = shareSlots(candidates, slots);
        expect(shareSlots(candidates, slots, ['m0', 'm1', 'm2', 'm3'])).toEqual(plain);
        expect(shareSlots(candidates, slots, ['elsewhere'])).toEqual(plain);
      }),
      { numRuns: 300 },
    );
  });

  it('a new job with no live leases waits for exactly the leases others take while their share stays at or below its first', () => {
    // A job k is served before the newcomer n while (live_k + 1) / w_k ≤ 1 / w_n, i.e. for
    // max(0, floor(w_k / w_n) − live_k) more leases (capped by its claimable work). The newcomer
    // gets a lease whenever the claim has more slots than that; losing every tie (it is the
    // youngest), it gets none otherwise. With nothing to wait for it takes the very first lease.
    fc.assert(
      fc.property(
        candidatesArb,
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 60 }),
        fc.boolean(),
        (others, weight, claimable, slots, youngest) => {
          const newcomer = job('new', { weight, claimable, createdAt: youngest ? 4 : 0 });
          const wait = others.reduce((n, k) => n + Math.max(0, Math.min(k.claimable, Math.floor(k.weight / weight) - k.live)), 0);
          const picks = shareSlots([...others, newcomer], slots);
          const served = picks.some((p) => p.jobId === 'new');
          if (slots > wait) expect(served).toBe(true);
          else if (youngest) expect(served).toBe(false);
          if (wait === 0 && slots >= 1) expect(picks[0]?.jobId).toBe('new');
        },
      ),
      { numRuns: 500 },
    );
  });
});

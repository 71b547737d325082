import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { freeWorkers, nextRestEnd, NO_RESTS, prune, restAfter, startRest } from './duty-cycle.ts';

describe('restAfter', () => {
  it.each([
    [100, 0.5, 100],
    [100, 0.25, 300],
    [100, 1, 0],
    [0, 0.5, 0],
    [30_000, 0.5, 30_000],
  ])('%s ms busy at share %s → %s ms rest', (busy, share, rest) => {
    expect(restAfter(busy, share)).toBeCloseTo(rest);
  });
});

describe('rests', () => {
  it('a resting worker is not free until its rest ends', () => {
    let rests = startRest(NO_RESTS, 200, 0.5, 1000);
    expect(freeWorkers(1, 0, rests, 1100)).toBe(0);
    expect(nextRestEnd(rests, 1100)).toBe(1200);
    expect(freeWorkers(1, 0, rests, 1200)).toBe(1);
    rests = prune(rests, 1200);
    expect(rests.until).toEqual([]);
  });

  it('over a worker\'s run of tasks and rests, busy time stays within share·W plus part of one task in any window', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0.25, 0.5, 1),
        fc.array(fc.integer({ min: 1, max: 3_000 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 60_000 }),
        (share, tasks, windowStart) => {
          // One worker: each task starts as soon as its rest is over.
          const busy: [number, number][] = [];
          let now = 0;
          for (const ms of tasks) {
            busy.push([now, now + ms]);
            now += ms + restAfter(ms, share);
          }
          const window = 10_000;
          const end = windowStart + window;
          const inWindow = busy.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, end) - Math.max(a, windowStart)), 0);
          const longest = Math.max(...tasks);
          expect(inWindow).toBeLessThanOrEqual(share * window + (1 - share) * longest + 1e-6);
        },
      ),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judge, maxResults, openTaskState, type ReplicaResult, type ReplicationTarget } from './quorum.ts';

const r = (volunteerId: string, outputHash: string): ReplicaResult => ({ volunteerId, outputHash });

/** A job's replication as the REST API accepts it: 1 ≤ quorum ≤ redundancy ≤ 16. */
const targetArb: fc.Arbitrary<ReplicationTarget> = fc
  .integer({ min: 1, max: 6 })
  .chain((replicas) => fc.record({ replicas: fc.constant(replicas), quorum: fc.integer({ min: 1, max: replicas }) }));

/** Results from a few volunteers (ids repeat on purpose) over a few outputs. */
const resultsArb = fc.array(
  fc.record({ volunteerId: fc.constantFrom('v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9'), outputHash: fc.constantFrom('A', 'B', 'C', 'D') }),
  { maxLength: 16 },
);

/** Distinct volunteers per output, counting each volunteer's first result only. */
function tally(results: readonly ReplicaResult[]): Map<string, Set<string>> {
  const seen = new Set<string>();
  const votes = new Map<string, Set<string>>();
  for (const { volunteerId, outputHash } of results) {
    if (seen.has(volunteerId)) continue;
    seen.add(volunteerId);
    votes.set(outputHash, (votes.get(outputHash) ?? new Set()).add(volunteerId));
  }
  return votes;
}

describe('maxResults', () => {
  it.each([
    [{ replicas: 1, quorum: 1 }, 3],
    [{ replicas: 2, quorum: 2 }, 5],
    [{ replicas: 3, quorum: 2 }, 7],
    [{ replicas: 16, quorum: 16 }, 33],
    [{ replicas: 1, quorum: 5 }, 5],
  ])('%o may collect %d results', (target, cap) => {
    expect(maxResults(target)).toBe(cap);
  });
});

describe('judge, by example', () => {
  const rq2 = { replicas: 2, quorum: 2 };

  it('waits for the first replicas, then accepts two agreeing volunteers', () => {
    expect(judge([], rq2)).toEqual({ kind: 'waiting', wanted: 2 });
    expect(judge([r('a', 'X')], rq2)).toEqual({ kind: 'waiting', wanted: 2 });
    expect(judge([r('a', 'X'), r('b', 'X')], rq2)).toEqual({ kind: 'accepted', outputHash: 'X', agreeing: ['a', 'b'], disagreeing: [] });
  });

  it('wants a third replica after a disagreement and names the odd one out', () => {
    expect(judge([r('a', 'X'), r('b', 'Y')], rq2)).toEqual({ kind: 'waiting', wanted: 3 });
    expect(judge([r('a', 'X'), r('b', 'Y'), r('c', 'Y')], rq2)).toEqual({
      kind: 'accepted',
      outputHash: 'Y',
      agreeing: ['b', 'c'],
      disagreeing: ['a'],
    });
  });

  it('asks one more replica per further disagreement, up to the cap, then fails as no quorum', () => {
    const results = [r('a', 'A'), r('b', 'B'), r('c', 'C'), r('d', 'D')];
    expect(judge(results.slice(0, 3), rq2)).toEqual({ kind: 'waiting', wanted: 4 });
    expect(judge(results, rq2)).toEqual({ kind: 'waiting', wanted: 5 });
    const verdict = judge([...results, r('e', 'E')], rq2);
    expect(verdict.kind).toBe('no_quorum');
    expect(verdict.kind === 'no_quorum' && verdict.message).toMatch(/5 results .* 5 different outputs.* 1 of the 2 needed.* at most 5/);
    // The fifth result may still make a quorum with an earlier one.
    expect(judge([...results, r('e', 'C')], rq2)).toMatchObject({ kind: 'accepted', outputHash: 'C', agreeing: ['c', 'e'] });
  });

  it('fails early once even a run of agreeing results could not fit under the cap', () => {
    // r = 3, q = 3: cap 7. Six results with at most one vote each need 2 more: 8 > 7.
    const six = ['A', 'B', 'C', 'D', 'E', 'F'].map((h, i) => r(`v${i}`, h));
    expect(judge(six.slice(0, 5), { replicas: 3, quorum: 3 })).toEqual({ kind: 'waiting', wanted: 7 });
    expect(judge(six, { replicas: 3, quorum: 3 }).kind).toBe('no_quorum');
  });

  it('counts a volunteer once: a repeat, even with another output, neither votes nor disagrees', () => {
    expect(judge([r('a', 'X'), r('a', 'X')], rq2)).toEqual({ kind: 'waiting', wanted: 2 });
    expect(judge([r('a', 'X'), r('a', 'Y'), r('b', 'X')], rq2)).toEqual({ kind: 'accepted', outputHash: 'X', agreeing: ['a', 'b'], disagreeing: [] });
    expect(judge([r('a', 'X'), r('a', 'X'), r('a', 'X'), r('a', 'X'), r('a', 'X')], rq2).kind).toBe('waiting');
  });

  it('accepts the first result when the quorum is one (and treats a quorum below one as one)', () => {
    expect(judge([r('a', 'X')], { replicas: 1, quorum: 1 })).toEqual({ kind: 'accepted', outputHash: 'X', agreeing: ['a'], disagreeing: [] });
    expect(judge([], { replicas: 1, quorum: 0 })).toEqual({ kind: 'waiting', wanted: 1 });
    expect(judge([r('a', 'X')], { replicas: 1, quorum: 0 }).kind).toBe('accepted');
  });
});

describe('judge, as properties', () => {
  it('never accepts without `quorum` distinct volunteers whose first result is the accepted output', () => {
    fc.assert(
      fc.property(resultsArb, targetArb, (results, target) => {
        const verdict = judge(results, target);
        if (verdict.kind !== 'accepted') return;
        const voters = tally(results).get(verdict.outputHash) ?? new Set();
        expect(new Set(verdict.agreeing).size).toBe(verdict.agreeing.length);
        expect(verdict.agreeing.length).toBeGreaterThanOrEqual(target.quorum);
        expect([...voters].sort()).toEqual([...verdict.agreeing].sort());
        expect(verdict.disagreeing.some((v) => voters.has(v))).toBe(false);
        // Everybody else who answered disagrees, once.
        const all = new Set(results.map((x) => x.volunteerId));
        expect([...verdict.agreeing, ...verdict.disagreeing].sort()).toEqual([...all].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same verdict when any results are repeated by the volunteers who sent them', () => {
    fc.assert(
      fc.property(resultsArb, targetArb, fc.array(fc.nat(), { maxLength: 8 }), fc.array(fc.constantFrom('A', 'B', 'Z')), (results, target, picks, hashes) => {
        // A volunteer's later results (repeats or changed minds) are appended after its first.
        const repeats = results.length === 0 ? [] : picks.map((p, i) => r(results[p % results.length]!.volunteerId, hashes[i] ?? 'A'));
        expect(judge([...results, ...repeats], target)).toEqual(judge(results, target));
      }),
      { numRuns: 300 },
    );
  });

  it('accepts exactly when some output has quorum distinct volunteers', () => {
    fc.assert(
      fc.property(resultsArb, targetArb, (results, target) => {
        const best = Math.max(0, ...[...tally(results).values()].map((s) => s.size));
        expect(judge(results, target).kind === 'accepted').toBe(best >= target.quorum);
      }),
      { numRuns: 300 },
    );
  });

  it('while waiting, wants at least the redundancy and at most maxResults, and the live replicas implied never exceed the redundancy', () => {
    fc.assert(
      fc.property(resultsArb, targetArb, (results, target) => {
        const verdict = judge(results, target);
        if (verdict.kind !== 'waiting') return;
        const counted = [...tally(results).values()].reduce((n, s) => n + s.size, 0);
        expect(verdict.wanted).toBeGreaterThanOrEqual(target.replicas);
        expect(verdict.wanted).toBeLessThanOrEqual(maxResults(target));
        expect(verdict.wanted - counted).toBeLessThanOrEqual(target.replicas);
        expect(verdict.wanted - counted).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });

  it('says no_quorum exactly when no output can reach quorum within the cap', () => {
    fc.assert(
      fc.property(resultsArb, targetArb, (results, target) => {
        const votes = tally(results);
        const counted = [...votes.values()].reduce((n, s) => n + s.size, 0);
        const best = Math.max(0, ...[...votes.values()].map((s) => s.size));
        const reachable = best >= target.quorum || counted + (target.quorum - best) <= maxResults(target);
        const verdict = judge(results, target);
        expect(verdict.kind === 'no_quorum').toBe(!reachable);
        if (verdict.kind === 'waiting') {
          // Witness: new volunteers agreeing with the leading output reach the quorum within the cap.
          const leader = [...votes].find(([, s]) => s.size === best)?.[0] ?? 'A';
          const more = Array.from({ length: target.quorum - best }, (_, i) => r(`fresh-${i}`, leader));
          expect(judge([...results, ...more], target).kind).toBe('accepted');
          expect(counted + more.length).toBeLessThanOrEqual(maxResults(target));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a task fed one fresh volunteer at a time, as the store does, ends within maxResults and its wanted count never shrinks', () => {
    fc.assert(
      fc.property(targetArb, fc.array(fc.constantFrom('A', 'B', 'C', 'D', 'E'), { minLength: 40, maxLength: 40 }), (target, outputs) => {
        const results: ReplicaResult[] = [];
        let wanted = target.replicas;
        for (const outputHash of outputs) {
          results.push(r(`v${results.length}`, outputHash));
          const verdict = judge(results, target);
          if (verdict.kind !== 'waiting') {
            expect(results.length).toBeLessThanOrEqual(maxResults(target));
            return;
          }
          expect(verdict.wanted).toBeGreaterThanOrEqual(wanted);
          wanted = verdict.wanted;
        }
        expect.unreachable('40 results never settled the task');
      }),
      { numRuns: 200 },
    );
  });
});

describe('openTaskState', () => {
  it.each([
    [{ live: 0, results: 0, wanted: 2 }, 'pending'],
    [{ live: 1, results: 0, wanted: 2 }, 'pending'],
    [{ live: 2, results: 0, wanted: 2 }, 'running'],
    [{ live: 1, results: 1, wanted: 2 }, 'running'],
    [{ live: 0, results: 2, wanted: 3 }, 'pending'],
    [{ live: 0, results: 3, wanted: 3 }, 'running'],
  ] as const)('%o is %s', (task, state) => {
    expect(openTaskState(task)).toBe(state);
  });
});

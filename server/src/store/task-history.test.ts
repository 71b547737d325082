import { describe, expect, it } from 'vitest';
import { orderClaimCandidates, type ClaimCandidate } from './claim-order.ts';
import { afterFailedAttempt, appendTaskError, parseTaskErrors } from './task-history.ts';

const job = (id: string, priority: number, createdAt: number, moduleHash = 'm1'): ClaimCandidate => ({ id, moduleHash, priority, createdAt });

describe('orderClaimCandidates', () => {
  const cases: { name: string; jobs: ClaimCandidate[]; cached?: string[]; expected: string[] }[] = [
    { name: 'higher priority first', jobs: [job('a', 1, 1), job('b', 5, 9)], expected: ['b', 'a'] },
    { name: 'older first among equal priority', jobs: [job('a', 2, 9), job('b', 2, 1)], expected: ['b', 'a'] },
    { name: 'job id breaks exact ties', jobs: [job('b', 2, 1), job('a', 2, 1)], expected: ['a', 'b'] },
    { name: 'cached module wins among equal priority', jobs: [job('a', 2, 1), job('b', 2, 9, 'm2')], cached: ['m2'], expected: ['b', 'a'] },
    { name: 'cached module never beats higher priority', jobs: [job('a', 3, 9), job('b', 2, 1, 'm2')], cached: ['m2'], expected: ['a', 'b'] },
    { name: 'empty', jobs: [], expected: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const before = c.jobs.map((j) => j.id);
      expect(orderClaimCandidates(c.jobs, c.cached).map((j) => j.id)).toEqual(c.expected);
      expect(c.jobs.map((j) => j.id)).toEqual(before);
    });
  }
});

describe('task history', () => {
  it.each([
    [null, []],
    ['', []],
    ['not json', []],
    ['{"a":1}', []],
    ['[{"attempt":1,"kind":"trap","message":"m","at":2}]', [{ attempt: 1, kind: 'trap', message: 'm', at: 2 }]],
  ])('parses %j', (stored, expected) => {
    expect(parseTaskErrors(stored)).toEqual(expected);
  });

  it('appends in order', () => {
    const one = appendTaskError(null, { attempt: 1, kind: 'trap', message: 'a', at: 1 });
    const two = appendTaskError(one, { attempt: 2, kind: 'timeout', message: 'b', at: 2 });
    expect(parseTaskErrors(two).map((e) => e.kind)).toEqual(['trap', 'timeout']);
  });

  it.each([
    [1, 3, 'pending'],
    [2, 3, 'pending'],
    [3, 3, 'failed'],
    [4, 3, 'failed'],
    [1, 1, 'failed'],
  ] as const)('after attempt %i of %i the task is %s', (attempts, max, expected) => {
    expect(afterFailedAttempt(attempts, max)).toBe(expected);
  });
});

import { describe, expect, it } from 'vitest';
import { CRASH_STREAK, RELEASES_PER_ATTEMPT, afterFailedAttempt, afterRelease, afterVanishing, appendTaskError, parseTaskErrors } from './task-history.ts';
import type { LeaseEnding } from './task-history.ts';


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
    [1, 3, 'open'],
    [2, 3, 'open'],
    [3, 3, 'failed'],
    [4, 3, 'failed'],
    [1, 1, 'failed'],
  ] as const)('after failure %i of %i allowed the task is %s', (failures, max, expected) => {
    expect(afterFailedAttempt(failures, max)).toBe(expected);
  });

  it('a task survives releases up to its allowance, then fails', () => {
    expect(RELEASES_PER_ATTEMPT).toBeGreaterThan(1);
    expect(afterRelease(3 * RELEASES_PER_ATTEMPT - 1, 3)).toBe('open');
    expect(afterRelease(3 * RELEASES_PER_ATTEMPT, 3)).toBe('failed');
    expect(afterRelease(1, 1)).toBe('open');
  });

  const ended = (...list: [string, LeaseEnding][]) => list.map(([volunteerId, ending]) => ({ volunteerId, ending }));

  it.each([
    ['a first disconnect', ended(), 'release', 1],
    ['a disconnect after an answer', ended(['b', 'answered'], ['c', 'vanished']), 'release', 1],
    ['the second volunteer vanishing in a row', ended(['b', 'vanished']), 'crash', 2],
    ['the third', ended(['b', 'vanished'], ['c', 'vanished'], ['d', 'answered'], ['e', 'vanished']), 'crash', 3],
    ['the same volunteer vanishing again', ended(['a', 'vanished'], ['a', 'vanished']), 'release', 1],
    ['a streak across a coordinator restart', ended(['r', 'neutral'], ['b', 'vanished']), 'crash', 2],
    ['a restart alone', ended(['r', 'neutral']), 'release', 1],
  ] as const)('%s: %s', (_, earlier, verdict, streak) => {
    expect(afterVanishing('a', earlier)).toEqual({ verdict, streak });
  });

  it('counts from the second distinct volunteer', () => {
    expect(CRASH_STREAK).toBe(2);
    expect(afterVanishing('a', ended(['b', 'vanished']), 3).verdict).toBe('release');
  });
});

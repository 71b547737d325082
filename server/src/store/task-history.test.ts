import { describe, expect, it } from 'vitest';
import { MAX_TASK_HISTORY, appendTaskError, appendTaskErrors, parseTaskErrors } from './task-history.ts';

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

  it('appends several entries at once', () => {
    const one = appendTaskError(null, { attempt: 1, kind: 'released', message: 'a', at: 1 });
    const three = appendTaskErrors(one, [
      { attempt: 1, kind: 'released', message: 'b', at: 2 },
      { attempt: 1, kind: 'released', message: 'c', at: 2 },
    ]);
    expect(parseTaskErrors(three).map((e) => e.message)).toEqual(['a', 'b', 'c']);
  });

  it('keeps the newest entries only', () => {
    let stored: string | null = null;
    for (let i = 0; i < MAX_TASK_HISTORY + 5; i++) stored = appendTaskError(stored, { attempt: i, kind: 'released', message: 'm', at: i });
    const kept = parseTaskErrors(stored);
    expect(kept).toHaveLength(MAX_TASK_HISTORY);
    expect(kept[0]?.attempt).toBe(5);
    expect(kept.at(-1)?.attempt).toBe(MAX_TASK_HISTORY + 4);
  });
});

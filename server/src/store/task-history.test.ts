import { describe, expect, it } from 'vitest';
import { appendTaskError, appendTaskErrors, parseTaskErrors } from './task-history.ts';

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
});

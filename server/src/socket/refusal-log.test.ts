import { afterEach, describe, expect, it, vi } from 'vitest';
import { createRefusalLog } from './refusal-log.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('createRefusalLog', () => {
  it('writes one line per kind and interval, with counts and the busiest addresses', () => {
    vi.useFakeTimers();
    const lines: object[] = [];
    const log = createRefusalLog({ warn: (obj) => lines.push(obj) }, 1000);
    for (let i = 0; i < 10_000; i++) log.count('rate_limited', i % 10 === 0 ? '127.0.0.9' : '127.0.0.2');
    for (let i = 0; i < 10_000; i++) log.count('event without acknowledgement', '127.0.0.2');
    // The first refusal goes out at once; the rest wait for the interval's end.
    expect(lines).toEqual([expect.objectContaining({ kind: 'rate_limited', count: 1 })]);
    vi.advanceTimersByTime(1000);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatchObject({ kind: 'rate_limited', count: 9_999, addresses: { '127.0.0.2': 9000, '127.0.0.9': 999 } });
    expect(lines[2]).toMatchObject({ kind: 'event without acknowledgement', count: 10_000 });
    // A flood that goes on: still one line per interval.
    for (let second = 0; second < 5; second++) {
      for (let i = 0; i < 1000; i++) log.count('rate_limited', '127.0.0.2');
      vi.advanceTimersByTime(1000);
    }
    expect(lines).toHaveLength(8);
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(8);
    log.count('rate_limited', '127.0.0.2');
    expect(lines).toHaveLength(9);
    log.close();
    expect(lines).toHaveLength(9);
  });
});

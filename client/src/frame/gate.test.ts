import { describe, expect, it } from 'vitest';
import { judgeAllow, MIN_POINTER_DWELL_MS, MIN_VISIBLE_MS, shuffled, type GateFacts } from './gate.ts';

const facts = (overrides: Partial<GateFacts>): GateFacts => ({
  support: 'tracked',
  visibleSince: 0,
  now: 10_000,
  via: 'pointer',
  pointerMoved: true,
  pointerSince: 5_000,
  ...overrides,
});

describe('judgeAllow', () => {
  it.each<[string, Partial<GateFacts>, string]>([
    ['visible long enough, the pointer moved to the button', {}, 'accept'],
    ['by keyboard, visible long enough', { via: 'keyboard', pointerMoved: false }, 'accept'],
    ['not visible now (transparent, covered, transformed)', { visibleSince: undefined }, 'not-visible'],
    ['visible for less than the minimum (just moved on screen)', { visibleSince: 10_000 - MIN_VISIBLE_MS + 1 }, 'not-visible'],
    ['visible exactly the minimum', { visibleSince: 10_000 - MIN_VISIBLE_MS, pointerSince: 9_500 }, 'accept'],
    ['the frame slid under a still pointer', { pointerMoved: false }, 'not-visible'],
    ['the frame became visible only after the pointer arrived (moved under it)', { visibleSince: 6_000 }, 'not-visible'],
    ['a click right as the pointer arrived (visibility not sampled since)', { pointerSince: 10_000 - MIN_POINTER_DWELL_MS + 1 }, 'not-visible'],
    ['no pointer arrival seen', { pointerSince: undefined }, 'not-visible'],
    ['a tap: no travel needed, visibility still is', { via: 'tap', pointerMoved: false, pointerSince: undefined }, 'accept'],
    ['a tap on a banner not visible', { via: 'tap', pointerMoved: false, visibleSince: undefined }, 'not-visible'],
    ['a browser that cannot tell visibility', { support: 'untracked', visibleSince: undefined }, 'confirm'],
    ['a browser that cannot tell, and a still pointer', { support: 'untracked', pointerMoved: false }, 'not-visible'],
    ['a browser that cannot tell, by keyboard', { support: 'untracked', via: 'keyboard', pointerMoved: false }, 'confirm'],
  ])('%s → %s', (_name, overrides, verdict) => {
    expect(judgeAllow(facts(overrides))).toBe(verdict);
  });
});

describe('shuffled', () => {
  it('keeps every item and follows the random source', () => {
    expect(shuffled(['a', 'b', 'c'], () => 0).sort()).toEqual(['a', 'b', 'c']);
    const orders = new Set([0, 0.34, 0.67, 0.99].map((r) => shuffled(['a', 'b', 'c'], () => r).join('')));
    expect(orders.size).toBeGreaterThan(1);
  });
});

import { describe, expect, it } from 'vitest';
import { mergeTabSignals, VISIBILITY_TTL_MS } from './tab-signals.ts';

const tabs = (entries: [string, boolean, number][]) => new Map(entries.map(([tab, visible, at]) => [tab, { visible, at }]));

describe('mergeTabSignals', () => {
  it.each<[string, boolean, [string, boolean, number][], boolean]>([
    ['own page visible', false, [], false],
    ['own page hidden, no other tab', true, [], true],
    ['own page hidden, another tab visible', true, [['b', true, 9_000]], false],
    ['own page hidden, other tabs hidden', true, [['b', false, 9_000]], true],
    ['own page hidden, the visible tab went silent long ago', true, [['b', true, 10_000 - VISIBILITY_TTL_MS]], true],
  ])('%s → hidden %s', (_name, ownHidden, others, hidden) => {
    expect(mergeTabSignals({ hidden: ownHidden }, { visible: tabs(others) }, 10_000).hidden).toBe(hidden);
  });

  it('takes the latest busy and input reports of any tab', () => {
    const merged = mergeTabSignals({ pageBusyAt: 100, cores: 4 }, { visible: tabs([]), longtaskAt: 500, inputAt: 300 }, 1_000);
    expect(merged).toMatchObject({ pageBusyAt: 500, pageInputAt: 300, cores: 4 });
    expect(mergeTabSignals({ pageInputAt: 800 }, { visible: tabs([]), inputAt: 300 }, 1_000).pageInputAt).toBe(800);
    expect(mergeTabSignals({}, { visible: tabs([]) }, 1_000).pageBusyAt).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { DEMO_SCENES, nextScene, sceneInputs, sceneTiles } from './scene.ts';
import { createTileTracker } from './tracker.ts';

describe('tile tracker', () => {
  it('numbers each completed tile once, in the order first seen', () => {
    const tracker = createTileTracker('job');
    tracker.absorb([
      { index: 0, state: 'pending' },
      { index: 1, state: 'completed', output: 'AQA=' },
      { index: 2, state: 'running' },
    ]);
    tracker.absorb([
      { index: 0, state: 'completed', output: 'AgA=' },
      { index: 1, state: 'completed', output: 'AQA=' },
      { index: 2, state: 'failed', errors: [] },
    ]);
    expect(tracker.seq).toBe(2);
    expect(tracker.since(0).map((t) => [t.seq, t.index])).toEqual([[1, 1], [2, 0]]);
    expect(tracker.since(1).map((t) => t.index)).toEqual([0]);
    expect(tracker.since(2)).toEqual([]);
    expect(tracker.since(99)).toEqual([]);
  });
});

describe('demo scenes', () => {
  it('split 768x512 into 96 tiles of 64x64, one 36-byte input each', () => {
    for (let index = 0; index < DEMO_SCENES.length; index++) {
      const tiles = sceneTiles(index);
      expect(tiles).toHaveLength(96);
      expect(tiles.every((t) => t.width === 64 && t.height === 64)).toBe(true);
      expect(sceneInputs(index).every((input) => input.byteLength === 36)).toBe(true);
    }
  });

  it('"new job" always moves to another scene', () => {
    for (const r of [0, 0.2, 0.5, 0.99999]) {
      for (let current = 0; current < DEMO_SCENES.length; current++) {
        const next = nextScene(current, () => r);
        expect(next).not.toBe(current);
        expect(DEMO_SCENES[next]).toBeDefined();
      }
    }
  });
});

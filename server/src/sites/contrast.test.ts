import { describe, expect, it } from 'vitest';
import { contrastRatio, relativeLuminance } from './contrast.ts';

describe('contrastRatio', () => {
  // Known pairs, from WebAIM's contrast checker and the WCAG definition.
  it.each([
    ['#000000', '#ffffff', 21],
    ['#ffffff', '#000000', 21],
    ['#777777', '#777777', 1],
    ['#767676', '#ffffff', 4.54],
    ['#777777', '#ffffff', 4.48],
    ['#ff0000', '#ffffff', 4],
    ['#0000ff', '#ffffff', 8.59],
    ['#1f6feb', '#ffffff', 4.63],
    ['#FFFFFF', '#00FF00', 1.37],
  ])('%s against %s is %d:1', (a, b, ratio) => {
    expect(contrastRatio(a, b)).toBeCloseTo(ratio, 2);
  });

  it('luminance runs from 0 (black) to 1 (white) and refuses what is not #rrggbb', () => {
    expect(relativeLuminance('#000000')).toBe(0);
    expect(relativeLuminance('#ffffff')).toBeCloseTo(1, 10);
    for (const bad of ['#fff', 'ffffff', '#gggggg', 'red', '#ffffff00']) {
      expect(() => relativeLuminance(bad)).toThrow(RangeError);
    }
  });
});

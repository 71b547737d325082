/**
 * The `mandelbrot` task computed in plain TypeScript, for tests. Doubles in JavaScript are the
 * same IEEE binary64 as wasm's f64, and the operations below run in the module's order, so the
 * counts must match bit for bit.
 */
import type { Tile } from './codec.ts';

/** Escape count of one point: iterations before |z|^2 > 4, or maxIter if it never escapes. */
export function escapeCountReference(cx: number, cy: number, maxIter: number): number {
  let re = 0;
  let im = 0;
  for (let n = 0; n < maxIter; n++) {
    const re2 = re * re;
    const im2 = im * im;
    if (re2 + im2 > 4) return n;
    im = 2 * re * im + cy;
    re = re2 - im2 + cx;
  }
  return maxIter;
}

/** Escape counts of a whole tile, row major. */
export function tileReference(tile: Tile): Uint16Array {
  const counts = new Uint16Array(tile.width * tile.height);
  for (let py = 0; py < tile.height; py++) {
    const cy = tile.y0 + py * tile.step;
    for (let px = 0; px < tile.width; px++) {
      counts[py * tile.width + px] = escapeCountReference(tile.x0 + px * tile.step, cy, tile.maxIter);
    }
  }
  return counts;
}

/** Example jobs for the browser tests and their independent reference answers. */
import { expect } from '@playwright/test';
import { decodeTile, encodeTile, tilesFor, type PlacedTile } from '../../wasm/tasks/mandelbrot/codec.ts';
import { tileReference } from '../../wasm/tasks/mandelbrot/reference.ts';
import { decodePrimesOutput } from '../../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../../wasm/tasks/primes/reference.ts';
import { jobResults, jobStatus, type JobStatus } from './api.ts';
import { fromBase64, type PrimeRange } from './chaos-jobs.ts';

/** 64 small tiles (8 x 8 of 24 px) of the whole set: quick, and every pixel is checked. */
export function mandelbrotTiles(): PlacedTile[] {
  return tilesFor({ centerX: -0.6, centerY: 0, width: 192, height: 192, scale: 3 / 192, tile: 24, maxIter: 300 });
}

export const mandelbrotInputs = (tiles: PlacedTile[]): Uint8Array[] => tiles.map((tile) => encodeTile(tile));

// The primes helpers live in the runner-free chaos module; the specs import them from here too.
export { primeInputs, primeRanges, type PrimeRange } from './chaos-jobs.ts';

/** Waits until the job has no task left to run. */
export async function waitForJobDone(id: string, timeout = 60_000): Promise<JobStatus> {
  await expect
    .poll(async () => (await jobStatus(id)).state, { timeout, intervals: [250, 500, 1000] })
    .not.toBe('active');
  return jobStatus(id);
}

/** Every tile completed, and each equals the reference computation pixel for pixel. */
export async function expectMandelbrotResults(jobId: string, tiles: PlacedTile[]): Promise<void> {
  const results = await jobResults(jobId);
  expect(results.map((line) => line.index)).toEqual(tiles.map((_, index) => index));
  for (const line of results) {
    expect(line.state, `tile ${line.index}`).toBe('completed');
    const tile = tiles[line.index] as PlacedTile;
    const counts = decodeTile(fromBase64(line.output ?? ''), tile);
    expect(Array.from(counts), `tile ${line.index}`).toEqual(Array.from(tileReference(tile)));
  }
}

/** Every range completed, and each count equals the reference count. */
export async function expectPrimeResults(jobId: string, ranges: PrimeRange[]): Promise<void> {
  const results = await jobResults(jobId);
  expect(results).toHaveLength(ranges.length);
  for (const line of results) {
    expect(line.state, `range ${line.index}`).toBe('completed');
    const { lo, hi } = ranges[line.index] as PrimeRange;
    expect(decodePrimesOutput(fromBase64(line.output ?? '')), `range ${line.index}`).toBe(countPrimesReference(lo, hi));
  }
}

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileTask, runTask } from '../../host/index.ts';
import { loadTaskWasm } from '../../testing/task-modules.ts';
import { decodeTile, decodeTileInput, encodeTile, encodeTileUnchecked, placeTile, tilesFor } from './codec.ts';
import type { Tile } from './codec.ts';
import { escapeCountReference, tileReference } from './reference.ts';

const limits = { maxMemoryBytes: 64 * 65_536, maxOutputBytes: 1 << 21 };
let module: WebAssembly.Module;

beforeAll(async () => {
  module = await compileTask(await loadTaskWasm('mandelbrot'), limits.maxMemoryBytes);
});

async function render(tile: Tile, onProgress?: (f: number) => void): Promise<Uint16Array> {
  const outcome = await runTask(module, encodeTile(tile), limits, onProgress ? { onProgress } : {});
  if (!outcome.ok) throw new Error(`${outcome.kind}: ${outcome.message}`);
  return decodeTile(outcome.output, tile);
}

describe('mandelbrot module', () => {
  it.each<[string, Tile]>([
    ['the whole set, coarse', { x0: -2.5, y0: -1.25, step: 0.05, width: 70, height: 50, maxIter: 100 }],
    ['a boundary zoom', { x0: -0.7454, y0: 0.1130, step: 1e-6, width: 32, height: 24, maxIter: 2000 }],
    ['a single pixel at the origin', { x0: 0, y0: 0, step: 1, width: 1, height: 1, maxIter: 65535 }],
    ['maxIter 0', { x0: -1, y0: -1, step: 0.5, width: 4, height: 4, maxIter: 0 }],
    ['negative step', { x0: 0.5, y0: 1, step: -0.03, width: 40, height: 30, maxIter: 255 }],
  ])('matches the reference bit for bit: %s', async (_name, tile) => {
    expect(Array.from(await render(tile))).toEqual(Array.from(tileReference(tile)));
  });

  it('gives known counts: inside the set is maxIter, far outside escapes at once', async () => {
    expect(Array.from(await render({ x0: 0, y0: 0, step: 1, width: 1, height: 1, maxIter: 500 }))).toEqual([500]);
    expect(Array.from(await render({ x0: 3, y0: 3, step: 1, width: 1, height: 1, maxIter: 500 }))).toEqual([1]);
    expect(escapeCountReference(-2, 0, 1000)).toBe(1000); // c = -2 is on the set's edge and never escapes
  });

  it('matches the reference on arbitrary small tiles', async () => {
    const tile = fc.record({
      x0: fc.double({ min: -2.5, max: 1.5, noNaN: true }),
      y0: fc.double({ min: -1.5, max: 1.5, noNaN: true }),
      step: fc.double({ min: 1e-9, max: 0.1, noNaN: true }),
      width: fc.integer({ min: 1, max: 12 }),
      height: fc.integer({ min: 1, max: 12 }),
      maxIter: fc.integer({ min: 0, max: 400 }),
    });
    await fc.assert(
      fc.asyncProperty(tile, async (t) => {
        expect(Array.from(await render(t))).toEqual(Array.from(tileReference(t)));
      }),
      { numRuns: 60 },
    );
  });

  it('reports progress row by row, ending at 1', async () => {
    const seen: number[] = [];
    await render({ x0: -2, y0: -1, step: 0.1, width: 8, height: 4, maxIter: 50 }, (f) => seen.push(f));
    expect(seen).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it.each<[string, Uint8Array]>([
    ['a short input', new Uint8Array(35)],
    ['zero width', encodeRaw({ width: 0 })],
    ['maxIter above 65535', encodeRaw({ maxIter: 65536 })],
    ['a NaN step', encodeRaw({ step: Number.NaN })],
    ['too many pixels', encodeRaw({ width: 5000, height: 5000 })],
  ])('refuses %s with a trap and a message', async (_name, input) => {
    const outcome = await runTask(module, input, limits);
    expect(outcome).toMatchObject({ ok: false, kind: 'trap' });
    expect(!outcome.ok && outcome.message).toMatch(/^abort: mandelbrot: /);
  });
});

/** Encodes a tile without the codec's checks, to feed the module what the codec would refuse. */
function encodeRaw(overrides: Partial<Tile>): Uint8Array {
  return encodeTileUnchecked({ x0: 0, y0: 0, step: 0.1, width: 2, height: 2, maxIter: 10, ...overrides });
}

describe('mandelbrot codec', () => {
  it('encodes the documented layout and round-trips', () => {
    const tile = { x0: -0.5, y0: 0.25, step: 1 / 1024, width: 3, height: 2, maxIter: 9 };
    const bytes = encodeTile(tile);
    expect(bytes.length).toBe(36);
    expect(new DataView(bytes.buffer).getFloat64(16, true)).toBe(1 / 1024);
    expect(Array.from(bytes.subarray(24))).toEqual([3, 0, 0, 0, 2, 0, 0, 0, 9, 0, 0, 0]);
    expect(decodeTileInput(bytes)).toEqual(tile);
  });

  it('refuses tiles the module would refuse', () => {
    const ok = { x0: 0, y0: 0, step: 0.1, width: 2, height: 2, maxIter: 10 };
    expect(() => encodeTile({ ...ok, maxIter: 65_536 })).toThrow(/maxIter/);
    expect(() => encodeTile({ ...ok, width: 0 })).toThrow(/width/);
    expect(() => encodeTile({ ...ok, x0: Number.POSITIVE_INFINITY })).toThrow(/x0/);
    expect(() => decodeTile(new Uint8Array(8), { width: 3, height: 1 })).toThrow(/6 bytes/);
  });

  it('decodes little-endian counts', () => {
    expect(Array.from(decodeTile(Uint8Array.from([1, 0, 0, 1, 0xff, 0xff])))).toEqual([1, 256, 65535]);
  });

  it('tiles an image exactly once, with smaller tiles at the edges', () => {
    const view = { centerX: -0.5, centerY: 0, width: 10, height: 7, scale: 0.01, tile: 4, maxIter: 50 };
    const tiles = tilesFor(view);
    expect(tiles.map((t) => [t.x, t.y, t.width, t.height])).toEqual([
      [0, 0, 4, 4], [4, 0, 4, 4], [8, 0, 2, 4],
      [0, 4, 4, 3], [4, 4, 4, 3], [8, 4, 2, 3],
    ]);
    const covered = new Uint16Array(view.width * view.height);
    for (const t of tiles) placeTile(covered, view.width, t, new Uint16Array(t.width * t.height).fill(1));
    expect(covered.every((c) => c === 1)).toBe(true);
    expect(tiles[0]).toMatchObject({ x0: -0.5 - 5 * 0.01, y0: -3.5 * 0.01, step: 0.01, maxIter: 50 });
    expect(tiles[4]!.x0).toBeCloseTo(-0.5 - 1 * 0.01, 12);
  });

  it('renders a tiled image identical to the reference of each tile', async () => {
    const view = { centerX: -0.75, centerY: 0.1, width: 48, height: 30, scale: 0.004, tile: 16, maxIter: 300 };
    const image = new Uint16Array(view.width * view.height);
    const expected = new Uint16Array(view.width * view.height);
    for (const t of tilesFor(view)) {
      placeTile(image, view.width, t, await render(t));
      placeTile(expected, view.width, t, tileReference(t));
    }
    expect(Array.from(image)).toEqual(Array.from(expected));
    expect(new Set(image).size).toBeGreaterThan(10);
  });
});

/**
 * Input and output bytes of the `mandelbrot` example task (see wasm/README.md), and the split of
 * an image into tiles, one task each.
 * Input, 36 bytes LE: f64 x0, f64 y0, f64 step, u32 width, u32 height, u32 maxIter.
 * Output: width * height u16 LE escape counts, row major.
 */

/** One tile: pixel (px, py) is c = (x0 + px * step, y0 + py * step). */
export interface Tile {
  x0: number;
  y0: number;
  step: number;
  width: number;
  height: number;
  maxIter: number;
}

/** A tile and where it sits in the image (pixel offsets of its top-left corner). */
export interface PlacedTile extends Tile {
  x: number;
  y: number;
}

/** An image of the set: its centre on the complex plane and its size in pixels. */
export interface View {
  centerX: number;
  centerY: number;
  /** Image width in pixels. */
  width: number;
  /** Image height in pixels. */
  height: number;
  /** Complex-plane units per pixel. */
  scale: number;
  /** Edge of a square tile in pixels (tiles at the right and bottom edges may be smaller). */
  tile: number;
  maxIter: number;
}

/** Bytes of an encoded tile. */
export const TILE_INPUT_BYTES = 36;
/** The largest maxIter that fits an output count (u16). */
export const MAX_ITER_LIMIT = 65_535;
/** The most pixels the module accepts in one tile. */
export const MAX_TILE_PIXELS = 1 << 24;

function checkTile(tile: Tile): void {
  for (const key of ['x0', 'y0', 'step'] as const) {
    if (!Number.isFinite(tile[key])) throw new RangeError(`${key} must be a finite number, got ${tile[key]}`);
  }
  for (const key of ['width', 'height'] as const) {
    if (!Number.isInteger(tile[key]) || tile[key] < 1) throw new RangeError(`${key} must be a positive integer, got ${tile[key]}`);
  }
  if (tile.width * tile.height > MAX_TILE_PIXELS) throw new RangeError(`a tile may have at most ${MAX_TILE_PIXELS} pixels`);
  if (!Number.isInteger(tile.maxIter) || tile.maxIter < 0 || tile.maxIter > MAX_ITER_LIMIT) {
    throw new RangeError(`maxIter must be an integer in [0, ${MAX_ITER_LIMIT}], got ${tile.maxIter}`);
  }
}

/** Encodes a tile as a task input. Throws a RangeError on a tile the module would refuse. */
export function encodeTile(tile: Tile): Uint8Array<ArrayBuffer> {
  checkTile(tile);
  return encodeTileUnchecked(tile);
}

/** Encodes a tile as it is, without the checks: for feeding the module what `encodeTile` refuses. */
export function encodeTileUnchecked(tile: Tile): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(TILE_INPUT_BYTES);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, tile.x0, true);
  view.setFloat64(8, tile.y0, true);
  view.setFloat64(16, tile.step, true);
  view.setUint32(24, tile.width, true);
  view.setUint32(28, tile.height, true);
  view.setUint32(32, tile.maxIter, true);
  return bytes;
}

/** Decodes a task input back into its tile (no validation: it shows what a module would read). */
export function decodeTileInput(bytes: Uint8Array): Tile {
  if (bytes.length !== TILE_INPUT_BYTES) throw new RangeError(`a tile input is ${TILE_INPUT_BYTES} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    x0: view.getFloat64(0, true),
    y0: view.getFloat64(8, true),
    step: view.getFloat64(16, true),
    width: view.getUint32(24, true),
    height: view.getUint32(28, true),
    maxIter: view.getUint32(32, true),
  };
}

/**
 * Decodes a task output into escape counts, row major. With `tile`, also checks that the output
 * has exactly one count per pixel.
 */
export function decodeTile(bytes: Uint8Array, tile?: Pick<Tile, 'width' | 'height'>): Uint16Array {
  if (bytes.length % 2 !== 0) throw new RangeError(`a tile output has an even number of bytes, got ${bytes.length}`);
  if (tile && bytes.length !== tile.width * tile.height * 2) {
    throw new RangeError(`a ${tile.width}x${tile.height} tile output is ${tile.width * tile.height * 2} bytes, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const counts = new Uint16Array(bytes.length / 2);
  for (let i = 0; i < counts.length; i++) counts[i] = view.getUint16(i * 2, true);
  return counts;
}

/**
 * Splits an image into tiles, row by row, left to right. Image pixel (X, Y) is
 * c = (centerX + (X - width / 2) * scale, centerY + (Y - height / 2) * scale), computed once per
 * tile corner; each tile then steps by `scale`.
 */
export function tilesFor(view: View): PlacedTile[] {
  const { centerX, centerY, width, height, scale, tile, maxIter } = view;
  for (const [key, value] of [['width', width], ['height', height], ['tile', tile]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be a positive integer, got ${value}`);
  }
  if (!Number.isFinite(scale) || scale <= 0) throw new RangeError(`scale must be a positive finite number, got ${scale}`);
  const tiles: PlacedTile[] = [];
  for (let y = 0; y < height; y += tile) {
    for (let x = 0; x < width; x += tile) {
      const placed: PlacedTile = {
        x,
        y,
        x0: centerX + (x - width / 2) * scale,
        y0: centerY + (y - height / 2) * scale,
        step: scale,
        width: Math.min(tile, width - x),
        height: Math.min(tile, height - y),
        maxIter,
      };
      checkTile(placed);
      tiles.push(placed);
    }
  }
  return tiles;
}

/** Copies a tile's counts into the whole image's counts (row major, `imageWidth` per row). */
export function placeTile(image: Uint16Array, imageWidth: number, tile: PlacedTile, counts: Uint16Array): void {
  if (counts.length !== tile.width * tile.height) {
    throw new RangeError(`expected ${tile.width * tile.height} counts for the tile, got ${counts.length}`);
  }
  for (let row = 0; row < tile.height; row++) {
    const from = row * tile.width;
    image.set(counts.subarray(from, from + tile.width), (tile.y + row) * imageWidth + tile.x);
  }
}

// sparecycles example task: one tile of the Mandelbrot set.
// Bytes ABI. Input (36 bytes, little-endian): f64 x0, f64 y0, f64 step, u32 width, u32 height,
// u32 maxIter. Output: width * height u16 LE escape counts, row major (4-byte length first, as the
// ABI wants). Pixel (px, py) is c = (x0 + px * step, y0 + py * step). The arithmetic below is the
// contract: wasm has no fused multiply-add and no fast-math, so every engine gets the same bits,
// and wasm/tasks/mandelbrot/reference.ts repeats the same operations in the same order.

@external("sparecycles", "progress")
declare function progress(fraction: f64): void;

const INPUT_BYTES = 36;
const MAX_ITER_LIMIT: u32 = 65535;
const MAX_PIXELS: u64 = 1 << 24;

/** Reserves `len` bytes for the input; the runtime copies the input there. */
export function alloc(len: i32): i32 {
  return <i32>heap.alloc(<usize>len);
}

function escapeCount(cx: f64, cy: f64, maxIter: u32): u32 {
  let zx = 0.0;
  let zy = 0.0;
  let i: u32 = 0;
  while (i < maxIter) {
    const zx2 = zx * zx;
    const zy2 = zy * zy;
    if (zx2 + zy2 > 4.0) break;
    zy = 2.0 * zx * zy + cy;
    zx = zx2 - zy2 + cx;
    i++;
  }
  return i;
}

export function run(ptr: i32, len: i32): i32 {
  if (len != INPUT_BYTES) abort("mandelbrot: input must be 36 bytes (f64 x0, f64 y0, f64 step, u32 width, u32 height, u32 maxIter)");
  const p = <usize>ptr;
  const x0 = load<f64>(p);
  const y0 = load<f64>(p, 8);
  const step = load<f64>(p, 16);
  const width = load<u32>(p, 24);
  const height = load<u32>(p, 28);
  const maxIter = load<u32>(p, 32);
  if (!isFinite(x0) || !isFinite(y0) || !isFinite(step)) abort("mandelbrot: x0, y0 and step must be finite");
  if (width == 0 || height == 0) abort("mandelbrot: width and height must be at least 1");
  if (<u64>width * <u64>height > MAX_PIXELS) abort("mandelbrot: a tile may have at most 16777216 pixels");
  if (maxIter > MAX_ITER_LIMIT) abort("mandelbrot: maxIter must be at most 65535");

  const bytes = width * height * 2;
  const out = heap.alloc(4 + <usize>bytes);
  store<u32>(out, bytes);
  let at = out + 4;
  for (let py: u32 = 0; py < height; py++) {
    const cy = y0 + <f64>py * step;
    for (let px: u32 = 0; px < width; px++) {
      const cx = x0 + <f64>px * step;
      store<u16>(at, <u16>escapeCount(cx, cy, maxIter));
      at += 2;
    }
    progress(<f64>(py + 1) / <f64>height);
  }
  return <i32>out;
}

/**
 * Input and output bytes of the `primes` example task (see wasm/README.md):
 * input u32 LE `lo`, u32 LE `hi` (8 bytes); output u32 LE count of primes in [lo, hi) (4 bytes).
 */

/** The largest value a u32 field holds. */
export const U32_MAX = 0xffff_ffff;

function checkU32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new RangeError(`${name} must be an integer in [0, ${U32_MAX}], got ${value}`);
  }
}

/** Encodes the range [lo, hi) as a task input. */
export function encodePrimesInput(lo: number, hi: number): Uint8Array<ArrayBuffer> {
  checkU32('lo', lo);
  checkU32('hi', hi);
  const bytes = new Uint8Array(8);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, lo, true);
  view.setUint32(4, hi, true);
  return bytes;
}

/** Decodes a task input back into its range. */
export function decodePrimesInput(bytes: Uint8Array): { lo: number; hi: number } {
  if (bytes.length !== 8) throw new RangeError(`a primes input is 8 bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { lo: view.getUint32(0, true), hi: view.getUint32(4, true) };
}

/** Decodes a task output: the number of primes in the range. */
export function decodePrimesOutput(bytes: Uint8Array): number {
  if (bytes.length !== 4) throw new RangeError(`a primes output is 4 bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
}

/**
 * Splits [lo, hi) into consecutive ranges of at most `size` numbers, one per task; the counts of
 * the parts add up to the count of the whole.
 */
export function splitPrimesRange(lo: number, hi: number, size: number): { lo: number; hi: number }[] {
  checkU32('lo', lo);
  checkU32('hi', hi);
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive integer, got ${size}`);
  const parts: { lo: number; hi: number }[] = [];
  for (let start = lo; start < hi; start += size) parts.push({ lo: start, hi: Math.min(hi, start + size) });
  return parts;
}

/**
 * A cursor over a WebAssembly binary: bytes, LEB128 numbers, names, limits. Shared by the memory
 * cap and the signature reader. Every read is bounds-checked and throws a plain Error on
 * malformed input.
 */

/** Limits flag: a maximum follows the minimum. */
export const LIMITS_HAS_MAX = 0x01;

/** A position in a wasm binary. */
export class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
  ) {}

  byte(): number {
    const b = this.bytes[this.pos];
    if (b === undefined) throw new Error(`wasm binary truncated at byte ${this.pos}`);
    this.pos++;
    return b;
  }

  /** Unsigned LEB128, exact up to 2^53 (enough for memory64 page counts). */
  uleb(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    throw new Error(`malformed LEB128 at byte ${this.pos}`);
  }

  /** Skips a length-prefixed name. */
  name(): void {
    this.skip(this.uleb());
  }

  /** Reads a length-prefixed UTF-8 name. */
  string(): string {
    const length = this.uleb();
    const start = this.pos;
    this.skip(length);
    return new TextDecoder().decode(this.bytes.subarray(start, this.pos));
  }

  skip(n: number): void {
    if (this.pos + n > this.bytes.length) throw new Error(`wasm binary truncated at byte ${this.pos}`);
    this.pos += n;
  }

  limits(): { flags: number; initial: number; maximum?: number } {
    const flags = this.byte();
    if (flags > 0x07) throw new Error(`unknown limits flags 0x${flags.toString(16)} at byte ${this.pos - 1}`);
    const initial = this.uleb();
    const maximum = flags & LIMITS_HAS_MAX ? this.uleb() : undefined;
    return maximum === undefined ? { flags, initial } : { flags, initial, maximum };
  }
}

/** Checks the magic number and version, leaving the reader at the first section. */
export function readHeader(r: Reader): void {
  const b = r.bytes;
  if (b.length < 8 || b[0] !== 0x00 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) {
    throw new Error('not a WebAssembly binary (bad magic number)');
  }
  if (b[4] !== 0x01 || b[5] !== 0x00 || b[6] !== 0x00 || b[7] !== 0x00) {
    throw new Error('unsupported WebAssembly binary version (only version 1 is supported)');
  }
  r.pos = 8;
}


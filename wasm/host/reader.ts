/**
 * A cursor over a WebAssembly binary: bytes, LEB128 numbers, names, limits. Shared by the memory
 * cap and the signature reader. Every read is bounds-checked and throws a plain Error on
 * malformed input.
 */

/** Limits flag: a maximum follows the minimum. */
export const LIMITS_HAS_MAX = 0x01;

/** Value type codes of typed references (function-references proposal), followed by a heap type. */
const REF_NULL_TYPE = 0x63;
const REF_TYPE = 0x64;

/** Section ids of the binary format. */
export const SECTION = {
  custom: 0, type: 1, import: 2, function: 3, table: 4, memory: 5, global: 6, export: 7, start: 8,
  element: 9, code: 10, data: 11, dataCount: 12, tag: 13,
} as const;

/** Import and export kinds. */
export const KIND = { func: 0, table: 1, memory: 2, global: 3, tag: 4 } as const;

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

  /** Skips a signed LEB128 (an s32, s33 or s64 immediate) without reading its value. */
  skipSleb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new Error(`malformed LEB128 at byte ${this.pos}`);
  }

  /** Skips a value type, including a typed reference's heap type (`ref null ht`, `ref ht`). */
  valueType(): number {
    const code = this.byte();
    if (code === REF_NULL_TYPE || code === REF_TYPE) this.skipSleb();
    return code;
  }

  /**
   * Skips a constant expression up to its `end`: the operators that initialise globals, element
   * and data offsets and table entries. Throws on an operator it does not know (e.g. the GC
   * proposal's `struct.new`), so a reader never silently loses its place.
   */
  constExpr(): void {
    for (;;) {
      const op = this.byte();
      switch (op) {
        case 0x0b: // end
          return;
        case 0x41: // i32.const
        case 0x42: // i64.const
          this.skipSleb();
          break;
        case 0x43: // f32.const
          this.skip(4);
          break;
        case 0x44: // f64.const
          this.skip(8);
          break;
        case 0x23: // global.get
        case 0xd2: // ref.func
          this.uleb();
          break;
        case 0xd0: // ref.null heaptype
          this.skipSleb();
          break;
        case 0x6a: case 0x6b: case 0x6c: case 0x7c: case 0x7d: case 0x7e: // extended-const arithmetic
          break;
        case 0xfd: { // v128.const
          const sub = this.uleb();
          if (sub !== 12) throw new Error(`unsupported operator 0xfd ${sub} in a constant expression at byte ${this.pos}`);
          this.skip(16);
          break;
        }
        default:
          throw new Error(`unsupported operator 0x${op.toString(16)} in a constant expression at byte ${this.pos - 1}`);
      }
    }
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


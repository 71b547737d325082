/**
 * Splits a byte stream into lines (LF, with an optional CR before it) holding at most one line in
 * memory: a line longer than `maxLineBytes` is refused as soon as it passes the bound, without
 * reading the rest of it.
 */
import { CodedError } from '../protocol/errors.ts';

const LF = 0x0a;
const CR = 0x0d;

/** One line without its line break; `number` counts from 1. */
export interface Line {
  number: number;
  bytes: Buffer;
}

export interface SplitOptions {
  maxLineBytes: number;
  /** Said after the refusal of a long line: why the bound is what it is. */
  limitNote?: string;
}

/** The lines of `chunks`, in order; a last line without a line break is a line too. */
export async function* splitLines(chunks: AsyncIterable<Uint8Array>, options: SplitOptions): AsyncGenerator<Line> {
  const { maxLineBytes } = options;
  let parts: Buffer[] = [];
  let held = 0;
  let number = 1;
  const tooLong = (): CodedError =>
    new CodedError('payload_too_large', `line ${number}: longer than ${maxLineBytes} bytes${options.limitNote ? ` (${options.limitNote})` : ''}`);
  const finish = (last: Buffer): Line => {
    let bytes = parts.length === 0 ? last : Buffer.concat([...parts, last], held + last.length);
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    parts = [];
    held = 0;
    return { number: number++, bytes };
  };
  for await (const chunk of chunks) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (;;) {
      const end = buffer.indexOf(LF, start);
      if (end === -1) {
        const rest = buffer.subarray(start);
        // A CR that may end the line is allowed past the bound by one byte.
        if (held + rest.length > maxLineBytes + 1) throw tooLong();
        if (rest.length > 0) {
          parts.push(rest);
          held += rest.length;
        }
        break;
      }
      const piece = buffer.subarray(start, end);
      const line = finish(piece);
      if (line.bytes.length > maxLineBytes) {
        number = line.number;
        throw tooLong();
      }
      yield line;
      start = end + 1;
    }
  }
  if (held > 0) {
    const line = finish(Buffer.alloc(0));
    if (line.bytes.length > maxLineBytes) {
      number = line.number;
      throw tooLong();
    }
    yield line;
  }
}

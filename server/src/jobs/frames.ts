/**
 * Reads length-prefixed frames (u32 big-endian length L, then L bytes) from a byte stream, holding
 * at most one frame in memory: a length over the bound is refused before any of its bytes are read.
 *
 * The binary form of a streamed job (`application/x-sparecycles-inputs`): on `POST /jobs` the
 * first frame is the job's options as UTF-8 JSON, each later frame one input; on
 * `POST /jobs/:id/inputs` every frame is an input. The body ends between frames.
 */
import { CodedError } from '../protocol/errors.ts';

const PREFIX = 4;

/** One frame's bytes; `number` counts from 1. */
export interface Frame {
  number: number;
  bytes: Buffer;
}

export interface FrameOptions {
  /** The bound of frame `number`'s length, and what to say when it is passed. */
  limitOf: (number: number) => { maxBytes: number; note: string };
}

/** The frames of `chunks`, in order. */
export async function* readFrames(chunks: AsyncIterable<Uint8Array>, options: FrameOptions): AsyncGenerator<Frame> {
  let parts: Buffer[] = [];
  let held = 0;
  let number = 1;
  /** The current frame's length once its prefix is read. */
  let length: number | undefined;
  const take = (n: number): Buffer => {
    const whole = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
    const taken = whole.subarray(0, n);
    const rest = whole.subarray(n);
    parts = rest.length > 0 ? [rest] : [];
    held = rest.length;
    return taken;
  };
  for await (const chunk of chunks) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (buffer.length === 0) continue;
    parts.push(buffer);
    held += buffer.length;
    for (;;) {
      if (length === undefined) {
        if (held < PREFIX) break;
        length = take(PREFIX).readUInt32BE(0);
        const limit = options.limitOf(number);
        if (length > limit.maxBytes) {
          throw new CodedError('payload_too_large', `frame ${number}: ${length} bytes, over the limit of ${limit.maxBytes} bytes (${limit.note})`);
        }
      }
      if (held < length) break;
      // Copied out of the chunk it came in: a small frame must not keep a whole chunk alive.
      const bytes = Buffer.from(take(length));
      length = undefined;
      yield { number: number++, bytes };
    }
  }
  if (length !== undefined || held > 0) {
    const got = length === undefined ? `${held} of the 4 bytes of its length` : `${held} of its ${length} bytes`;
    throw new CodedError('bad_request', `frame ${number}: the body ended inside it (${got})`);
  }
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFrames } from './frames.ts';
import { arbitraryCuts, chunksOf, collect, cutAt, frame, outcomeOf } from './testing.ts';

const limitOf = (max: number) => () => ({ maxBytes: max, note: 'the limit' });

describe('readFrames', () => {
  it('gives back the framed payloads wherever the chunks are cut', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 10 }), arbitraryCuts, async (payloads, cuts) => {
        const body = Buffer.concat(payloads.map(frame));
        const got = await collect(readFrames(chunksOf(cutAt(body, cuts)), { limitOf: limitOf(40) }));
        expect(got.map((f) => [f.number, Array.from(f.bytes)])).toEqual(payloads.map((p, i) => [i + 1, Array.from(p)]));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a frame over the bound from its length alone, and a body that ends inside a frame', async () => {
    let read = 0;
    async function* huge() {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(2 ** 31);
      yield prefix;
      for (;;) {
        read++;
        yield Buffer.alloc(65536);
      }
    }
    expect(await outcomeOf(readFrames(huge(), { limitOf: limitOf(1000) }))).toEqual({
      error: 'payload_too_large: frame 1: 2147483648 bytes, over the limit of 1000 bytes (the limit)',
    });
    expect(read).toBe(0);
    const body = Buffer.concat([frame(Buffer.from('abc')), frame(Buffer.from('defgh'))]);
    expect(await outcomeOf(readFrames(chunksOf([body.subarray(0, body.length - 2)]), { limitOf: limitOf(10) }))).toEqual({
      error: 'bad_request: frame 2: the body ended inside it (3 of its 5 bytes)',
    });
    expect(await outcomeOf(readFrames(chunksOf([body, Buffer.from([0, 0])]), { limitOf: limitOf(10) }))).toEqual({
      error: 'bad_request: frame 3: the body ended inside it (2 of the 4 bytes of its length)',
    });
  });
});

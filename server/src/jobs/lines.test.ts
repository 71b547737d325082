import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitLines } from './lines.ts';
import { arbitraryCuts, chunksOf, collect, cutAt, outcomeOf } from './testing.ts';

const text = (lines: { number: number; bytes: Buffer }[]) => lines.map((l) => [l.number, l.bytes.toString('latin1')]);

describe('splitLines', () => {
  it('gives the same lines wherever the chunks are cut, as an independent split does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', '\r', ' ', 'é') }), { maxLength: 12 }), fc.boolean(), arbitraryCuts, async (lines, finalBreak, cuts) => {
        const body = Buffer.from(lines.join('\n') + (finalBreak && lines.length > 0 ? '\n' : ''), 'latin1');
        const got = text(await collect(splitLines(chunksOf(cutAt(body, cuts)), { maxLineBytes: 1000 })));
        // Independent: split the whole body at once, drop one trailing empty piece, strip one CR.
        const pieces = body.length === 0 ? [] : body.toString('latin1').split('\n');
        if (pieces.length > 0 && pieces.at(-1) === '' && body.at(-1) === 0x0a) pieces.pop();
        expect(got).toEqual(pieces.map((p, i) => [i + 1, p.endsWith('\r') ? p.slice(0, -1) : p]));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a line past the bound as soon as it passes it, naming the line', async () => {
    const long = Buffer.alloc(50, 'x');
    expect(await outcomeOf(splitLines(chunksOf([Buffer.from('ok\n'), long, long]), { maxLineBytes: 80, limitNote: 'why' }))).toEqual({
      error: 'payload_too_large: line 2: longer than 80 bytes (why)',
    });
    // An endless line: refused after reading just past the bound, not at the end of the body.
    let read = 0;
    async function* endless() {
      for (;;) {
        read += 1024;
        yield Buffer.alloc(1024, 'y');
      }
    }
    expect(await outcomeOf(splitLines(endless(), { maxLineBytes: 10_000 }))).toEqual({ error: 'payload_too_large: line 1: longer than 10000 bytes' });
    expect(read).toBeLessThanOrEqual(11 * 1024);
    // At the bound exactly (with or without CR) is fine; the last line without a break too.
    expect(text(await collect(splitLines(chunksOf([Buffer.from('abcd\r\nabcd\nabcd')]), { maxLineBytes: 4 })))).toEqual([
      [1, 'abcd'],
      [2, 'abcd'],
      [3, 'abcd'],
    ]);
    expect(await outcomeOf(splitLines(chunksOf([Buffer.from('abcde')]), { maxLineBytes: 4 }))).toEqual({ error: 'payload_too_large: line 1: longer than 4 bytes' });
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from './base64.ts';
import { SpareCyclesError } from './errors.ts';
import { batchLines, inputLine, splitLines, utf8Length } from './ndjson.ts';

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

describe('inputLine', () => {
  it('sends text as {"text"} and bytes as {"base64"}', () => {
    expect(inputLine('héllo\n', 0)).toBe('{"text":"héllo\\n"}');
    expect(inputLine(new Uint8Array([0, 255, 16]), 0)).toBe('{"base64":"AP8Q"}');
  });

  it('refuses text with a lone surrogate, naming the input', () => {
    expect(() => inputLine('ok\uD800', 7)).toThrow(SpareCyclesError);
    expect(() => inputLine('ok\uD800', 7)).toThrow(/input 7/);
    expect(inputLine('😀', 0)).toBe('{"text":"😀"}');
  });

  it('base64 round-trips any bytes, as Node encodes them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), (bytes) => {
        const text = toBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(fromBase64(text)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });
});

describe('utf8Length', () => {
  it('equals the encoded length of any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' })), (text) => {
        expect(utf8Length(text)).toBe(Buffer.byteLength(text, 'utf8'));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('batchLines', () => {
  const line = fc.string({ unit: 'grapheme', maxLength: 40 }).map((text) => JSON.stringify({ text }));

  it('keeps every line in order, each batch within its count and bytes (a lone big line travels alone)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 300 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 400 }), async (lines, maxCount, maxBytes) => {
        const batches = await collect(batchLines(lines, { maxCount, maxBytes }));
        expect(batches.map((batch) => batch.body).join('')).toBe(lines.map((l) => `${l}\n`).join(''));
        for (const batch of batches) {
          expect(batch.count).toBeGreaterThan(0);
          expect(batch.count).toBeLessThanOrEqual(maxCount);
          expect(batch.bytes).toBe(Buffer.byteLength(batch.body));
          if (batch.count > 1) expect(batch.bytes).toBeLessThanOrEqual(maxBytes);
        }
        // Greedy: a batch closes only when the next line would not fit.
        for (let i = 0; i + 1 < batches.length; i++) {
          const next = batches[i + 1]!.body.slice(0, batches[i + 1]!.body.indexOf('\n') + 1);
          expect(batches[i]!.count === maxCount || batches[i]!.bytes + Buffer.byteLength(next) > maxBytes).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('gives no batch for no lines, and reads async sources', async () => {
    expect(await collect(batchLines([]))).toEqual([]);
    async function* lines() {
      yield 'a';
      yield 'b';
    }
    expect(await collect(batchLines(lines(), { maxCount: 1, maxBytes: 100 }))).toEqual([
      { body: 'a\n', count: 1, bytes: 2 },
      { body: 'b\n', count: 1, bytes: 2 },
    ]);
  });
});

describe('splitLines', () => {
  it('gives the same lines however the body is cut into chunks, even inside a character', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\n') && s.trim() === s && s !== ''), { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 10 }), async (lines, cuts) => {
        const body = Buffer.from(lines.map((l) => `${l}\n`).join(''));
        const points = [...new Set(cuts.map((c) => (body.length ? c % body.length : 0)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let at = 0;
        for (const point of [...points, body.length]) {
          chunks.push(body.subarray(at, point));
          at = point;
        }
        expect(await collect(splitLines((async function* () { yield* chunks; })()))).toEqual(lines);
      }),
      { numRuns: 500 },
    );
  });

  it('skips blank lines and keeps a last line without a newline', async () => {
    const body = new TextEncoder().encode('{"a":1}\n\n  \n{"b":2}');
    expect(await collect(splitLines((async function* () { yield body; })()))).toEqual(['{"a":1}', '{"b":2}']);
  });
});

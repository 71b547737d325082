import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchInputs } from './batches.ts';
import { decodeInputLine } from './input-line.ts';
import { streamItems, type StreamItem } from './stream-items.ts';
import { arbitraryCuts, chunksOf, collect, cutAt, frame, outcomeOf } from './testing.ts';

const LIMITS = { maxInputBytes: 64 };
const OPTIONS = { module: 'a'.repeat(64), title: 'demo' };

/** An input as the NDJSON form sends it: text when it is UTF-8 and the coin says so, else base64. */
function ndjsonLine(input: Uint8Array, asText: boolean): string {
  const text = Buffer.from(input).toString('utf8');
  return asText && Buffer.from(text, 'utf8').equals(input) ? JSON.stringify({ text }) : JSON.stringify({ base64: Buffer.from(input).toString('base64') });
}

const plain = (items: StreamItem[]) => items.map((item) => (item.kind === 'options' ? ['options', item.value] : ['input', Array.from(item.bytes)]));

describe('streamItems', () => {
  it('reads the same options and inputs from the NDJSON and the binary form, wherever the chunks are cut', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 64 }), fc.boolean(), fc.constantFrom('\n', '\r\n', '\n\n', '\n \n')), { maxLength: 12 }),
        arbitraryCuts,
        arbitraryCuts,
        async (inputs, ndCuts, binCuts) => {
          const ndjson = Buffer.from(`${JSON.stringify(OPTIONS)}\n${inputs.map(([bytes, asText, eol]) => ndjsonLine(bytes, asText) + eol).join('')}`);
          const binary = Buffer.concat([frame(Buffer.from(JSON.stringify(OPTIONS))), ...inputs.map(([bytes]) => frame(bytes))]);
          const fromNdjson = plain(await collect(streamItems('ndjson', chunksOf(cutAt(ndjson, ndCuts)), LIMITS, true)));
          const fromFrames = plain(await collect(streamItems('frames', chunksOf(cutAt(binary, binCuts)), LIMITS, true)));
          const expected = [['options', OPTIONS], ...inputs.map(([bytes]) => ['input', Array.from(bytes)])];
          expect(fromNdjson).toEqual(expected);
          expect(fromFrames).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('names the line or frame of the first problem', async () => {
    const ndjson = (body: string, withOptions = true) => outcomeOf(streamItems('ndjson', chunksOf([Buffer.from(body)]), LIMITS, withOptions));
    expect(await ndjson('')).toEqual({ error: "bad_request: the body ended before the job's options (the first line)" });
    expect(await ndjson('{"module":1}\n{"text":"a"}\n{"text":"b"\n')).toMatchObject({ error: expect.stringMatching(/^bad_request: line 3: not valid JSON/) });
    expect(await ndjson('{"text":"a"}\n\n{"base64":"a"}', false)).toEqual({ error: 'bad_request: line 3: base64 is not valid (RFC 4648, padded)' });
    expect(await ndjson(`{"text":"${'x'.repeat(65)}"}`, false)).toEqual({
      error: 'payload_too_large: line 1: an input of 65 bytes is over the limit of 64 bytes (SPARECYCLES_MAX_INPUT_BYTES)',
    });
    const frames = await outcomeOf(streamItems('frames', chunksOf([frame(Buffer.from('{}')), frame(Buffer.alloc(65))]), LIMITS, true));
    expect(frames).toEqual({ error: 'payload_too_large: frame 2: 65 bytes, over the limit of 64 bytes (SPARECYCLES_MAX_INPUT_BYTES)' });
  });
});

describe('decodeInputLine', () => {
  const decode = (line: string | Buffer) => {
    try {
      return Array.from(decodeInputLine(Buffer.isBuffer(line) ? line : Buffer.from(line), 'line 4', 16));
    } catch (error) {
      return (error as Error).message;
    }
  };
  it.each([
    ['{"text":"hé"}', [104, 195, 169]],
    ['{"text":""}', []],
    ['{"base64":"AAEC"}', [0, 1, 2]],
    ['{"base64":""}', []],
    ['{"base64":"AAE"}', 'line 4: base64 is not valid (RFC 4648, padded)'],
    ['{"base64":"AAF="}', 'line 4: base64 is not valid (RFC 4648, padded)'],
    ['{"text":"a","base64":"AA=="}', 'line 4: expected {"base64": "…"} or {"text": "…"} (exactly one of the two keys)'],
    ['{}', 'line 4: expected {"base64": "…"} or {"text": "…"} (exactly one of the two keys)'],
    ['{"text":1}', 'line 4: expected {"base64": "…"} or {"text": "…"} (exactly one of the two keys)'],
    ['"AAEC"', 'line 4: expected {"base64": "…"} or {"text": "…"} (exactly one of the two keys)'],
    ['{"text":"\\ud800"}', 'line 4: text contains a lone UTF-16 surrogate, which cannot be stored as given'],
    [Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'line 4: not valid UTF-8'],
  ])('%s → %j', (line, expected) => {
    expect(decode(line)).toEqual(expected);
  });
});

describe('batchInputs', () => {
  it('keeps every input in order, in batches within both bounds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 30 }), { maxLength: 60 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 50 }), async (inputs, maxCount, maxBytes) => {
        const batches = await collect(batchInputs(chunksOf(inputs), { maxCount, maxBytes }));
        expect(batches.flat()).toEqual(inputs);
        for (const batch of batches) {
          expect(batch.length).toBeGreaterThan(0);
          expect(batch.length).toBeLessThanOrEqual(maxCount);
          if (batch.length > 1) expect(batch.reduce((n, b) => n + b.length, 0)).toBeLessThanOrEqual(maxBytes);
        }
      }),
    );
  });
});

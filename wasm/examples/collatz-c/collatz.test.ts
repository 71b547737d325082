/**
 * The C example, compiled by clang for wasm32-wasi and run through the same ABI host volunteers use:
 * its answers equal the TypeScript reference, including ranges whose values pass 2^32 (where a
 * 32-bit `long` would go wrong), and bad input fails the task instead of producing a result.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileTask, runTask } from '../../host/index.ts';
import { buildCollatz } from './build.ts';
import { collatzAnswer } from './reference.ts';

const limits = { maxMemoryBytes: 16 * 1024 * 1024, maxOutputBytes: 1024 };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let module: WebAssembly.Module;

beforeAll(async () => {
  module = await compileTask((await buildCollatz()).bytes, limits.maxMemoryBytes);
});

async function run(input: string): Promise<string> {
  const outcome = await runTask(module, encoder.encode(input), limits);
  if (!outcome.ok) throw new Error(`${outcome.kind}: ${outcome.message}`);
  return decoder.decode(outcome.output);
}

describe('the Collatz example in C', () => {
  it('finds the longest chain below a million (its values pass 2^32)', async () => {
    const answer = await run('1 999999');
    expect(answer).toBe(collatzAnswer(1, 999_999));
    // 113383 is the first start whose sequence passes 2^32.
    expect(await run('113383 113383')).toBe(collatzAnswer(113_383, 113_383));
  });

  it('agrees with the reference on any small range', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 200_000 }), fc.integer({ min: 0, max: 500 }), async (first, span) => {
        expect(await run(`${first} ${first + span}`)).toBe(collatzAnswer(first, first + span));
      }),
      { numRuns: 200 },
    );
  });

  it('fails the task on input it cannot read, never printing a result', async () => {
    for (const bad of ['', 'ten twenty', '5 4', '0 3']) {
      const outcome = await runTask(module, encoder.encode(bad), limits);
      expect(outcome.ok, `input ${JSON.stringify(bad)}`).toBe(false);
    }
  });
});

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileTask, runTask } from '../../host/index.ts';
import type { TaskOutcome } from '../../host/index.ts';
import { loadTaskWasm } from '../../testing/task-modules.ts';
import { decodePrimesInput, decodePrimesOutput, encodePrimesInput, splitPrimesRange } from './codec.ts';
import { countPrimesReference } from './reference.ts';

const limits = { maxMemoryBytes: 16 * 65_536, maxOutputBytes: 1024 };
let module: WebAssembly.Module;

beforeAll(async () => {
  module = await compileTask(await loadTaskWasm('primes'), limits.maxMemoryBytes);
});

async function count(lo: number, hi: number): Promise<number> {
  const outcome: TaskOutcome = await runTask(module, encodePrimesInput(lo, hi), limits);
  if (!outcome.ok) throw new Error(`${outcome.kind}: ${outcome.message}`);
  return decodePrimesOutput(outcome.output);
}

describe('primes module', () => {
  it.each([
    [0, 0, 0],
    [0, 2, 0],
    [0, 3, 1],
    [2, 3, 1],
    [0, 10, 4],
    [0, 100, 25],
    [0, 1000, 168],
    [0, 100_000, 9592],
    [100, 50, 0],
    [4_294_967_291, 4_294_967_295, 1], // the largest u32 prime is 2^32 - 5
  ])('counts primes in [%d, %d) as %d', async (lo, hi, expected) => {
    expect(await count(lo, hi)).toBe(expected);
    expect(countPrimesReference(lo, hi)).toBe(expected);
  });

  it('agrees with the reference sieve on arbitrary ranges', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 3000 }), async (lo, span) => {
        const hi = Math.min(0xffff_ffff, lo + span);
        expect(await count(lo, hi)).toBe(countPrimesReference(lo, hi));
      }),
      { numRuns: 40 },
    );
  });

  it('agrees with the reference on small ranges near zero', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(5000), fc.nat(5000), async (a, b) => {
        expect(await count(a, b)).toBe(countPrimesReference(a, b));
      }),
      { numRuns: 60 },
    );
  });

  it('refuses an input of the wrong length with a trap naming the format', async () => {
    const outcome = await runTask(module, new Uint8Array(7), limits);
    expect(outcome).toMatchObject({ ok: false, kind: 'trap' });
    expect(!outcome.ok && outcome.message).toMatch(/primes: input must be 8 bytes/);
  });
});

describe('primes codec', () => {
  it('round-trips inputs and rejects values outside u32', () => {
    expect(decodePrimesInput(encodePrimesInput(7, 0xffff_ffff))).toEqual({ lo: 7, hi: 0xffff_ffff });
    expect(Array.from(encodePrimesInput(1, 258))).toEqual([1, 0, 0, 0, 2, 1, 0, 0]);
    expect(() => encodePrimesInput(-1, 5)).toThrow(RangeError);
    expect(() => encodePrimesInput(0, 2 ** 32)).toThrow(RangeError);
    expect(() => encodePrimesInput(0.5, 2)).toThrow(RangeError);
    expect(() => decodePrimesOutput(new Uint8Array(3))).toThrow(/4 bytes/);
  });

  it('splits a range into parts whose counts add up', () => {
    const parts = splitPrimesRange(10, 1000, 300);
    expect(parts).toEqual([
      { lo: 10, hi: 310 },
      { lo: 310, hi: 610 },
      { lo: 610, hi: 910 },
      { lo: 910, hi: 1000 },
    ]);
    const sum = parts.reduce((n, p) => n + countPrimesReference(p.lo, p.hi), 0);
    expect(sum).toBe(countPrimesReference(10, 1000));
    expect(splitPrimesRange(5, 5, 10)).toEqual([]);
  });
});

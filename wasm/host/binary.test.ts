import { describe, expect, it } from 'vitest';
import { watToWasm } from '../testing/wat.ts';
import { capMemory, readMemoryLimits } from './binary.ts';

const withMemory = (memory: string, extra = '') => watToWasm(`(module ${extra} ${memory} (func (export "f")))`);

describe('readMemoryLimits', () => {
  it.each([
    ['(memory 1)', { initialPages: 1, imported: false, shared: false }],
    ['(memory 2 10)', { initialPages: 2, maximumPages: 10, imported: false, shared: false }],
    ['(memory 1 4 shared)', { initialPages: 1, maximumPages: 4, imported: false, shared: true }],
    ['(import "env" "memory" (memory 3 300))', { initialPages: 3, maximumPages: 300, imported: true, shared: false }],
    ['(memory 200)', { initialPages: 200, imported: false, shared: false }],
  ])('reads %s', async (memory, expected) => {
    expect(readMemoryLimits(await withMemory(memory))).toEqual(expected);
  });

  it('finds the memory after other imports of every kind', async () => {
    const bytes = await watToWasm(`(module
      (import "a" "f" (func (param i32)))
      (import "a" "t" (table 1 2 funcref))
      (import "a" "g" (global (mut i32)))
      (import "a" "m" (memory 5 6)))`);
    expect(readMemoryLimits(bytes)).toEqual({ initialPages: 5, maximumPages: 6, imported: true, shared: false });
  });

  it('returns undefined for a module without memory', async () => {
    expect(readMemoryLimits(await watToWasm('(module (func (export "f")))'))).toBeUndefined();
  });

  it('throws on bytes that are not a wasm binary, or are cut short', async () => {
    expect(() => readMemoryLimits(new TextEncoder().encode('hello world'))).toThrow(/magic/);
    const bytes = await withMemory('(memory 1 2)');
    expect(() => readMemoryLimits(bytes.subarray(0, bytes.length - 3))).toThrow(/truncated|past the end/);
  });
});

describe('capMemory', () => {
  it('adds a maximum to a memory that declares none, and the result still validates', async () => {
    const capped = capMemory(await withMemory('(memory 1)'), 4);
    expect(WebAssembly.validate(capped)).toBe(true);
    expect(readMemoryLimits(capped)).toEqual({ initialPages: 1, maximumPages: 4, imported: false, shared: false });
  });

  it('lowers a declared maximum above the cap and keeps one below it', async () => {
    expect(readMemoryLimits(capMemory(await withMemory('(memory 1 1000)'), 16))?.maximumPages).toBe(16);
    expect(readMemoryLimits(capMemory(await withMemory('(memory 1 8)'), 16))?.maximumPages).toBe(8);
  });

  it('keeps shared memories shared', async () => {
    const capped = capMemory(await withMemory('(memory 1 65536 shared)'), 32);
    expect(readMemoryLimits(capped)).toEqual({ initialPages: 1, maximumPages: 32, imported: false, shared: true });
    expect(WebAssembly.validate(capped)).toBe(true);
  });

  it('rewrites section sizes when the encoding grows (LEB widths change)', async () => {
    // No maximum → one with a two-byte LEB, and data and code after the memory section.
    const bytes = await watToWasm(`(module (memory (export "memory") 1)
      (data (i32.const 16) "payload")
      (func (export "size") (result i32) memory.size))`);
    const capped = capMemory(bytes, 300);
    expect(capped.length).toBeGreaterThan(bytes.length);
    const { exports } = await WebAssembly.instantiate(await WebAssembly.compile(capped));
    expect((exports.size as () => number)()).toBe(1);
    const memory = exports.memory as WebAssembly.Memory;
    expect(new TextDecoder().decode(new Uint8Array(memory.buffer, 16, 7))).toBe('payload');
    expect(() => memory.grow(300)).toThrow(RangeError);
    expect(memory.grow(299)).toBe(1);
  });

  it('caps an imported memory declaration too', async () => {
    const capped = capMemory(await withMemory('(import "env" "memory" (memory 1))'), 8);
    expect(readMemoryLimits(capped)?.maximumPages).toBe(8);
    expect(WebAssembly.validate(capped)).toBe(true);
  });

  it('throws a clear error when the initial memory is already above the cap', async () => {
    const bytes = await withMemory('(memory 20)');
    expect(() => capMemory(bytes, 16)).toThrow(
      'module memory starts at 20 pages (1.25 MiB), above the cap of 16 pages (1 MiB)',
    );
  });

  it('returns a copy, never the input itself', async () => {
    const bytes = await watToWasm('(module)');
    const out = capMemory(bytes, 1);
    expect(out).toEqual(bytes);
    expect(out).not.toBe(bytes);
  });
});

import { describe, expect, it } from 'vitest';
import { TABLE_BOMB_WAT } from '../testing/hostile-modules.ts';
import { loadTaskWasm } from '../testing/task-modules.ts';
import { watToWasm } from '../testing/wat.ts';
import { capTables } from './binary.ts';
import { readModuleResources } from './module-resources.ts';
import { RESOURCE_LIMITS, checkResources } from './resource-limits.ts';

const repeat = (count: number, text: (i: number) => string): string => Array.from({ length: count }, (_, i) => text(i)).join('\n');

describe('readModuleResources', () => {
  it('counts every kind of declaration, imported ones included', async () => {
    const bytes = await watToWasm(`(module
      (type (func (param i32) (result i32)))
      (import "a" "f" (func (param i32)))
      (import "a" "t" (table 3 7 funcref))
      (import "a" "g" (global i32))
      (import "a" "m" (memory 1))
      (table 5 externref)
      (table 2 10 funcref)
      (global (mut i32) (i32.const 0))
      (global i64 (i64.const 1))
      (tag (param i32))
      (func $x (param i32) (result i32) (local i32 i64) (local f32) local.get 0)
      (func $y)
      (export "x" (func $x))
      (elem (table 2) (i32.const 0) func $x $y)
      (elem funcref (ref.func $x) (ref.null func) (ref.func $y))
      (elem declare func $y)
      (data (i32.const 0) "hello")
      (data "passive!"))`);
    expect(readModuleResources(bytes)).toEqual({
      types: 3, gcTypes: 0, imports: 4, exports: 1, functions: 3,
      tables: [{ initial: 3, maximum: 7 }, { initial: 5 }, { initial: 2, maximum: 10 }],
      memories: 1, globals: 3, tags: 1, elementSegments: 3, elements: 6, dataSegments: 2, dataBytes: 13,
      mostLocals: { index: 0, count: 3 },
    });
  });

  it('counts struct and array types, in and out of recursion groups', async () => {
    // Written by hand: wabt's text format does not cover the GC proposal.
    const resources = readModuleResources(
      Uint8Array.of(
        0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
        1, 21, 4,
        0x5f, 2, 0x7f, 0, 0x78, 1, // struct { i32, mut i8 }
        0x5e, 0x7e, 1, // array (mut i64)
        0x60, 0, 0, // func
        0x4e, 2, 0x5f, 0, 0x60, 1, 0x7f, 0, // rec { struct {}, func (i32) }
      ),
    );
    expect({ types: resources.types, gcTypes: resources.gcTypes }).toEqual({ types: 5, gcTypes: 3 });
  });

  it('throws on a binary it cannot read', () => {
    expect(() => readModuleResources(new TextEncoder().encode('hello world'))).toThrow(/magic/);
  });
});

describe('checkResources', () => {
  it.each([
    ['the table bomb', TABLE_BOMB_WAT, /tables: 64; the limit is 16; table 0 declares 10,000,000 entries; the limit is 1,000,000 entries in all tables together/],
    ['one table over the limit', '(module (table 1000001 funcref))', /table 0 declares 1,000,001 entries/],
    ['a table whose maximum is over the limit', '(module (table 1 1000001 funcref))', /table 0 may grow to 1,000,001 entries; .* declare a lower maximum/],
    ['tables within the limit alone but not together', '(module (table 600000 funcref) (table 1 600000 externref))', /tables together hold up to 1,200,000 entries; the limit is 1,000,000/],
    ['seventeen tables', `(module ${repeat(17, () => '(table 1 funcref)')})`, /^module claims too much: tables: 17; the limit is 16$/],
    ['two memories', '(module (memory 1) (memory 1))', /memories: 2; the limit is 1/],
    ['too many globals', `(module ${repeat(100_001, () => '(global i32 (i32.const 0))')})`, /globals: 100,001; the limit is 100,000/],
    ['too many functions', `(module ${repeat(200_001, () => '(func)')})`, /functions: 200,001; the limit is 200,000/],
    ['too many imports', `(module ${repeat(1_001, () => '(import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))')})`, /imports: 1,001; the limit is 1,000/],
    ['too many exports', `(module (func $f) ${repeat(10_001, (i) => `(export "e${i}" (func $f))`)})`, /exports: 10,001; the limit is 10,000/],
    ['too many data segments', `(module (memory 1) ${repeat(100_001, () => '(data "")')})`, /data segments: 100,001; the limit is 100,000/],
    ['too many element segments', `(module (func $f) ${repeat(10_001, () => '(elem func $f)')})`, /element segments: 10,001; the limit is 10,000/],
    ['too many elements', `(module (func $f) (elem func ${repeat(1_000_001, () => '$f')}))`, /entries in element segments: 1,000,001; the limit is 1,000,000/],
    ['too many locals', '(module (func) (func (local i32) (local i64) (local f64)) (func (local i64 i64)))', /locals in defined function 1: 3; the limit is 2/, { localsPerFunction: 2 }],
    ['too many tags', `(module ${repeat(1_001, () => '(tag)')})`, /exception tags: 1,001; the limit is 1,000/],
    ['too many types', `(module ${repeat(50_001, (i) => `(type (func (param ${'i32 '.repeat(i % 7)}) (result ${i >= 7 ? 'i64' : 'i32'})))`)})`, /types: 50,001; the limit is 50,000/],
  ] as const)('refuses %s', async (_, wat, message, custom?: object) => {
    const bytes = await watToWasm(wat);
    expect(checkResources(bytes, { ...RESOURCE_LIMITS, ...custom })).toMatch(message);
  });

  it.each([
    ['a module at every limit that matters for tables', '(module (table 500000 funcref) (table 1 500000 externref))'],
    ['one memory, locals at the limit', `(module (memory 1) (func (local ${'i32 '.repeat(RESOURCE_LIMITS.localsPerFunction)})))`],
    ['an empty module', '(module)'],
  ])('accepts %s', async (_, wat) => {
    expect(checkResources(await watToWasm(wat))).toBeUndefined();
  });

  it('accepts every example task module', async () => {
    for (const name of ['primes', 'mandelbrot'] as const) expect(checkResources(await loadTaskWasm(name)), name).toBeUndefined();
  });

  it('refuses bytes it cannot read, never throwing', () => {
    expect(checkResources(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 4, 9))).toMatch(/^cannot count the module's resources: section 4 runs past the end/);
  });
});

describe('capTables', () => {
  it('gives a table without a maximum its initial size as one, leaving declared maxima alone', async () => {
    const bytes = await watToWasm('(module (import "a" "t" (table 2 funcref)) (table 3 externref) (table 1 9 funcref) (memory 1))');
    const capped = capTables(bytes);
    expect(WebAssembly.validate(capped)).toBe(true);
    expect(readModuleResources(capped).tables).toEqual([{ initial: 2, maximum: 2 }, { initial: 3, maximum: 3 }, { initial: 1, maximum: 9 }]);
  });

  it('so table.grow fails instead of growing past what was counted', async () => {
    const bytes = await watToWasm('(module (table $t 1 externref) (func (export "grow") (result i32) (table.grow $t (ref.null extern) (i32.const 1000000))))');
    const instance = await WebAssembly.instantiate(await WebAssembly.compile(capTables(bytes)));
    expect((instance.exports.grow as () => number)()).toBe(-1);
  });
});

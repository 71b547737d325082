import { describe, expect, it } from 'vitest';
import { tableBomb } from '../testing/hostile-modules.ts';
import { watToWasm } from '../testing/wat.ts';
import { readMemoryLimits } from './binary.ts';
import { compileTask, runTask } from './host.ts';

const PAGE = 65_536;
const limits = { maxMemoryBytes: 16 * PAGE, maxOutputBytes: 1 << 20 };

/** Compiles WAT under the cap, as the runtime does. */
async function task(wat: string, maxMemoryBytes = limits.maxMemoryBytes): Promise<WebAssembly.Module> {
  return compileTask(await watToWasm(wat), maxMemoryBytes);
}

/**
 * An echo module: `alloc` bumps a pointer (growing memory page by page as needed, trapping when it
 * cannot) and `run` writes the length just before the input and returns that address.
 */
const ECHO = `(module
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 64))
  (func (export "alloc") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (i32.add (global.get $next) (i32.const 4)))
    (global.set $next (i32.add (local.get $p) (local.get $len)))
    (block $done
      (loop $grow
        (br_if $done (i32.le_u (global.get $next) (i32.mul (memory.size) (i32.const 65536))))
        (if (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0)) (then unreachable))
        (br $grow)))
    (local.get $p))
  (func (export "run") (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.sub (local.get $ptr) (i32.const 4)) (local.get $len))
    (i32.sub (local.get $ptr) (i32.const 4))))`;

/** A bytes-ABI module whose `run` body is `body` (params $ptr, $len; returns the output pointer). */
const bytesModule = (body: string, extra = '') => `(module ${extra}
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) i32.const 1024)
  (func (export "run") (param $ptr i32) (param $len i32) (result i32) ${body}))`;

describe('runTask, bytes ABI', () => {
  it('round-trips input to output through alloc and run', async () => {
    const input = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
    expect(await runTask(await task(ECHO), input, limits)).toEqual({ ok: true, output: input });
    expect(await runTask(await task(ECHO), new Uint8Array(0), limits)).toEqual({ ok: true, output: new Uint8Array(0) });
  });

  it('copies an input that makes alloc grow memory (fresh views after growth)', async () => {
    const input = new Uint8Array(5 * PAGE).fill(0xab);
    input[input.length - 1] = 0x01;
    const outcome = await runTask(await task(ECHO), input, { ...limits, maxOutputBytes: 8 * PAGE });
    if (!outcome.ok) throw new Error(outcome.message);
    expect(outcome.output.length).toBe(input.length);
    expect(outcome.output.every((b, i) => b === input[i])).toBe(true);
  });

  it('reports a trap with the engine message', async () => {
    const outcome = await runTask(await task(bytesModule('unreachable')), new Uint8Array(4), limits);
    expect(outcome).toEqual({ ok: false, kind: 'trap', message: 'unreachable' });
  });

  it('reports a stack overflow as a trap', async () => {
    const wat = bytesModule('(call $deep (i32.const 0))', '(func $deep (param i32) (result i32) (call $deep (i32.add (local.get 0) (i32.const 1))))');
    const outcome = await runTask(await task(wat), new Uint8Array(0), limits);
    expect(outcome).toMatchObject({ ok: false, kind: 'trap' });
    expect(!outcome.ok && outcome.message).toMatch(/call stack/i);
  });

  it('refuses a module with a missing export, naming it', async () => {
    const wat = `(module (memory (export "memory") 1) (func (export "run") (param i32 i32) (result i32) i32.const 0))`;
    const outcome = await runTask(await task(wat), new Uint8Array(0), limits);
    expect(outcome).toEqual({ ok: false, kind: 'invalid', message: 'not a valid bytes-ABI module: missing export `alloc` (function)' });
  });

  it('refuses a module with a forbidden import without instantiating it', async () => {
    const outcome = await runTask(await task(bytesModule('i32.const 0', '(import "env" "fetch" (func))')), new Uint8Array(0), limits);
    expect(outcome).toMatchObject({ ok: false, kind: 'invalid' });
    expect(!outcome.ok && outcome.message).toContain('import `env.fetch` is not allowed; allowed: env.abort, sparecycles.progress');
  });

  it('refuses, when compiled by compileTask, a module whose run has the wrong type', async () => {
    const wat = `(module (memory (export "memory") 1)
      (func (export "alloc") (param i32) (result i32) i32.const 0)
      (func (export "run") (param i32 i32)))`;
    const outcome = await runTask(await task(wat), new Uint8Array(0), limits);
    expect(outcome).toEqual({
      ok: false,
      kind: 'invalid',
      message: 'not a valid bytes-ABI module: export `run` has type (i32, i32) -> (); expected (i32, i32) -> i32',
    });
  });

  it('refuses an output pointer outside memory', async () => {
    const outcome = await runTask(await task(bytesModule('i32.const 0x7fffffff')), new Uint8Array(0), limits);
    expect(outcome).toEqual({ ok: false, kind: 'invalid', message: 'run returned output pointer 2147483647, outside memory (65536 bytes)' });
    const negative = await runTask(await task(bytesModule('i32.const -1')), new Uint8Array(0), limits);
    expect(negative).toMatchObject({ ok: false, kind: 'invalid', message: expect.stringContaining('pointer 4294967295') });
  });

  it('refuses an output length that runs past the end of memory', async () => {
    const body = '(i32.store (i32.const 0) (i32.const 70000)) (i32.const 0)';
    const outcome = await runTask(await task(bytesModule(body)), new Uint8Array(0), limits);
    expect(outcome).toEqual({ ok: false, kind: 'invalid', message: 'output length 70000 at pointer 0 runs past the end of memory (65536 bytes)' });
  });

  it('refuses an output larger than maxOutputBytes', async () => {
    const outcome = await runTask(await task(ECHO), new Uint8Array(101), { ...limits, maxOutputBytes: 100 });
    expect(outcome).toEqual({ ok: false, kind: 'invalid', message: 'output of 101 bytes exceeds the limit of 100 B' });
  });

  it('refuses an alloc pointer that cannot hold the input', async () => {
    const wat = `(module (memory (export "memory") 1)
      (func (export "alloc") (param i32) (result i32) i32.const 65530)
      (func (export "run") (param i32 i32) (result i32) i32.const 0))`;
    const outcome = await runTask(await task(wat), new Uint8Array(10), limits);
    expect(outcome).toMatchObject({ ok: false, kind: 'invalid', message: 'alloc returned pointer 65530 for 10 bytes, outside memory (65536 bytes)' });
  });

  it('reports a module growing memory past the cap as `memory`', async () => {
    const body = `(block $full (loop $more
        (br_if $full (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0)))
        (br $more)))
      unreachable`;
    const outcome = await runTask(await task(bytesModule(body), 4 * PAGE), new Uint8Array(0), { ...limits, maxMemoryBytes: 4 * PAGE });
    expect(outcome).toMatchObject({ ok: false, kind: 'memory' });
    expect(!outcome.ok && outcome.message).toBe('memory limit of 256 KiB reached: unreachable');
  });

  it('caps a module that declares no maximum: growth past the cap fails inside the module', async () => {
    const bytes = await watToWasm(bytesModule('(i32.store (i32.const 0) (i32.const 4)) (i32.store (i32.const 4) (memory.grow (i32.const 10))) (i32.const 0)'));
    expect(readMemoryLimits(bytes)?.maximumPages).toBeUndefined();
    const capped = await runTask(await compileTask(bytes, 8 * PAGE), new Uint8Array(0), limits);
    expect(capped.ok && new DataView(capped.output.buffer).getInt32(0, true)).toBe(-1);
    const roomy = await runTask(await compileTask(bytes, 64 * PAGE), new Uint8Array(0), limits);
    expect(roomy.ok && new DataView(roomy.output.buffer).getInt32(0, true)).toBe(1); // old size in pages
  });

  it('reports an uncapped module that grew past the cap as `memory`', async () => {
    const module = await WebAssembly.compile(await watToWasm(bytesModule('(drop (memory.grow (i32.const 8))) (i32.const 0)')));
    const outcome = await runTask(module, new Uint8Array(0), { ...limits, maxMemoryBytes: 4 * PAGE });
    expect(outcome).toEqual({ ok: false, kind: 'memory', message: 'memory grew to 576 KiB, above the limit of 256 KiB' });
  });

  it('refuses at compile time a module whose initial memory is above the cap', async () => {
    await expect(compileTask(await watToWasm('(module (memory 32))'), 16 * PAGE)).rejects.toThrow(/starts at 32 pages .* above the cap of 16 pages/);
  });

  it('refuses at compile time, before any instance exists, a module that claims too much (the table bomb)', async () => {
    const started = performance.now();
    await expect(compileTask(await tableBomb(), limits.maxMemoryBytes)).rejects.toThrow(
      /^module claims too much: tables: 64; the limit is 16; table 0 declares 10,000,000 entries/,
    );
    // Refused by reading ~400 bytes, not by an allocation that failed.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('caps a table that declares no maximum: table.grow fails inside the module', async () => {
    const grow = '(i32.store (i32.const 0) (i32.const 4)) (i32.store (i32.const 4) (table.grow $t (ref.null extern) (i32.const 1000))) (i32.const 0)';
    const outcome = await runTask(await task(bytesModule(grow, '(table $t 8 externref)')), new Uint8Array(0), limits);
    expect(outcome.ok && new DataView(outcome.output.buffer).getInt32(0, true)).toBe(-1);
  });

  it('never reuses an instance after a trap: memory and globals start fresh', async () => {
    // Input [1]: mark memory and a global, then trap. Input [0]: report the marks.
    const wat = `(module
      (memory (export "memory") 1)
      (global $calls (mut i32) (i32.const 0))
      (func (export "alloc") (param i32) (result i32) i32.const 1024)
      (func (export "run") (param $ptr i32) (param $len i32) (result i32)
        (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
        (if (i32.load8_u (local.get $ptr)) (then
          (i32.store8 (i32.const 100) (i32.const 0xaa))
          unreachable))
        (i32.store (i32.const 0) (i32.const 2))
        (i32.store8 (i32.const 4) (i32.load8_u (i32.const 100)))
        (i32.store8 (i32.const 5) (global.get $calls))
        (i32.const 0)))`;
    const module = await task(wat);
    expect(await runTask(module, Uint8Array.of(1), limits)).toMatchObject({ ok: false, kind: 'trap' });
    expect(await runTask(module, Uint8Array.of(0), limits)).toEqual({ ok: true, output: Uint8Array.of(0, 1) });
    expect(await runTask(module, Uint8Array.of(0), limits)).toEqual({ ok: true, output: Uint8Array.of(0, 1) });
  });

  it("reports env.abort with AssemblyScript's message, file, line and column", async () => {
    // AssemblyScript strings: UTF-16LE, byte length in the u32 just before the pointer.
    const wat = bytesModule(
      '(call $abort (i32.const 64) (i32.const 104) (i32.const 7) (i32.const 3)) (i32.const 0)',
      `(import "env" "abort" (func $abort (param i32 i32 i32 i32)))
       (data (i32.const 60) "\\0a\\00\\00\\00b\\00o\\00o\\00m\\00!\\00")
       (data (i32.const 100) "\\08\\00\\00\\00t\\00.\\00t\\00s\\00")`,
    );
    expect(await runTask(await task(wat), new Uint8Array(0), limits)).toEqual({ ok: false, kind: 'trap', message: 'abort: boom! (t.ts:7:3)' });
  });

  it('survives env.abort called with pointers that lead nowhere', async () => {
    const wat = bytesModule(
      '(call $abort (i32.const -8) (i32.const 2) (i32.const 0) (i32.const 0)) (i32.const 0)',
      '(import "env" "abort" (func $abort (param i32 i32 i32 i32)))',
    );
    expect(await runTask(await task(wat), new Uint8Array(0), limits)).toEqual({ ok: false, kind: 'trap', message: 'abort: abort called' });
  });

  it('forwards sparecycles.progress, clamped, ignoring non-numbers and a throwing listener', async () => {
    const wat = bytesModule(
      `(call $progress (f64.const 0.25)) (call $progress (f64.const nan)) (call $progress (f64.const 7))
       (call $progress (f64.const -1)) (i32.store (i32.const 0) (i32.const 0)) (i32.const 0)`,
      '(import "sparecycles" "progress" (func $progress (param f64)))',
    );
    const module = await task(wat);
    const seen: number[] = [];
    expect(await runTask(module, new Uint8Array(0), limits, { onProgress: (f) => seen.push(f) })).toMatchObject({ ok: true });
    expect(seen).toEqual([0.25, 1, 0]);
    const throwing = { onProgress: () => { throw new Error('listener bug'); } };
    expect(await runTask(module, new Uint8Array(0), limits, throwing)).toMatchObject({ ok: true });
    expect(await runTask(module, new Uint8Array(0), limits)).toMatchObject({ ok: true });
  });

  it('reports a start function that traps', async () => {
    const wat = bytesModule('i32.const 0', '(func $init unreachable) (start $init)');
    expect(await runTask(await task(wat), new Uint8Array(0), limits)).toEqual({ ok: false, kind: 'trap', message: 'unreachable' });
  });
});

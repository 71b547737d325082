import { describe, expect, it } from 'vitest';
import { watToWasm } from '../testing/wat.ts';
import { classifyModule } from './abi.ts';
import { compileTask, runTask } from './host.ts';

const PAGE = 65_536;
const limits = { maxMemoryBytes: 16 * PAGE, maxOutputBytes: 1 << 20 };

const IMPORTS = `
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))`;

/** cat: copies stdin to stdout in 4 KiB reads until end of file. */
const CAT = `(module ${IMPORTS}
  (memory (export "memory") 1)
  (func (export "_start")
    (local $n i32)
    (loop $again
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 4096))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))
        (then (call $proc_exit (i32.const 70))))
      (local.set $n (i32.load (i32.const 16)))
      (if (i32.eqz (local.get $n)) (then (return)))
      (i32.store (i32.const 32) (i32.const 1024))
      (i32.store (i32.const 36) (local.get $n))
      (drop (call $fd_write (i32.const 1) (i32.const 32) (i32.const 1) (i32.const 48)))
      (br $again))))`;

/** Writes "bad input\\n" to stderr and exits with code 3. */
const FAILING = `(module ${IMPORTS}
  (memory (export "memory") 1)
  (data (i32.const 64) "bad input\\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 10))
    (drop (call $fd_write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 16)))
    (call $proc_exit (i32.const 3))))`;

/** Writes 16 bytes of random_get to stdout. */
const RANDOM = `(module ${IMPORTS}
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $random_get (i32.const 64) (i32.const 16)))
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))`;

const task = async (wat: string) => compileTask(await watToWasm(wat), limits.maxMemoryBytes);

describe('runTask, WASI command', () => {
  it('is classified as WASI', async () => {
    expect(classifyModule(await task(CAT))).toEqual({ abi: 'wasi' });
  });

  it('round-trips stdin to stdout, across several reads', async () => {
    const input = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31) & 0xff);
    expect(await runTask(await task(CAT), input, limits)).toEqual({ ok: true, output: input });
    expect(await runTask(await task(CAT), new Uint8Array(0), limits)).toEqual({ ok: true, output: new Uint8Array(0) });
  });

  it('reports a non-zero exit code as a trap with the tail of stderr', async () => {
    expect(await runTask(await task(FAILING), new Uint8Array(0), limits)).toEqual({
      ok: false,
      kind: 'trap',
      message: 'exit code 3; stderr: bad input',
    });
  });

  it('treats proc_exit(0) as success', async () => {
    const wat = `(module ${IMPORTS} (memory (export "memory") 1) (func (export "_start") (call $proc_exit (i32.const 0))))`;
    expect(await runTask(await task(wat), Uint8Array.of(1), limits)).toEqual({ ok: true, output: new Uint8Array(0) });
  });

  it('reports a trap in _start', async () => {
    const wat = `(module ${IMPORTS} (memory (export "memory") 1) (func (export "_start") unreachable))`;
    expect(await runTask(await task(wat), new Uint8Array(0), limits)).toEqual({ ok: false, kind: 'trap', message: 'unreachable' });
  });

  it('stops a module writing more than maxOutputBytes', async () => {
    const outcome = await runTask(await task(CAT), new Uint8Array(5000), { ...limits, maxOutputBytes: 4096 });
    expect(outcome).toEqual({ ok: false, kind: 'invalid', message: 'output of more than 4 KiB exceeds the limit' });
  });

  it('gives every run the same random_get bytes, so replicas agree', async () => {
    const module = await task(RANDOM);
    const first = await runTask(module, new Uint8Array(0), limits);
    const second = await runTask(module, new Uint8Array(0), limits);
    expect(first.ok && first.output.length).toBe(16);
    expect(second).toEqual(first);
    expect(first.ok && new Set(first.output).size).toBeGreaterThan(4);
  });

  it('reports growth past the cap as `memory`', async () => {
    const wat = `(module ${IMPORTS} (memory (export "memory") 1)
      (func (export "_start")
        (block $full (loop $more
          (br_if $full (i32.lt_s (memory.grow (i32.const 1)) (i32.const 0)))
          (br $more)))
        unreachable))`;
    const outcome = await runTask(await task(wat), new Uint8Array(0), limits);
    expect(outcome).toEqual({ ok: false, kind: 'memory', message: 'memory limit of 1 MiB reached: unreachable' });
  });
});

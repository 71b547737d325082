import { WASI } from '@bjorn3/browser_wasi_shim';
import { describe, expect, it } from 'vitest';
import { loadTaskWasm } from '../testing/task-modules.ts';
import { watToWasm } from '../testing/wat.ts';
import { WASI_PREVIEW1_FUNCTIONS, classifyModule } from './abi.ts';
import { readFunctionSignatures } from './signatures.ts';

const compile = async (wat: string) => WebAssembly.compile(await watToWasm(wat));

const BYTES_EXPORTS = `
  (memory (export "memory") 1)
  (func (export "alloc") (param i32) (result i32) i32.const 0)
  (func (export "run") (param i32 i32) (result i32) i32.const 0)`;

describe('classifyModule', () => {
  it.each([
    ['a minimal bytes-ABI module', `(module ${BYTES_EXPORTS})`],
    ['a bytes-ABI module with the allowed imports', `(module
      (import "env" "abort" (func (param i32 i32 i32 i32)))
      (import "sparecycles" "progress" (func (param f64))) ${BYTES_EXPORTS})`],
  ])('accepts %s as bytes', async (_name, wat) => {
    expect(classifyModule(await compile(wat))).toEqual({ abi: 'bytes' });
  });

  it('accepts a WASI command', async () => {
    const wat = `(module
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start")))`;
    expect(classifyModule(await compile(wat))).toEqual({ abi: 'wasi' });
  });

  it.each([
    [
      'a missing export',
      `(module (memory (export "memory") 1) (func (export "run") (param i32 i32) (result i32) i32.const 0))`,
      'not a valid bytes-ABI module: missing export `alloc` (function)',
    ],
    [
      'an export of the wrong kind',
      `(module (memory 1) (global (export "memory") i32 (i32.const 0))
        (func (export "alloc") (param i32) (result i32) i32.const 0)
        (func (export "run") (param i32 i32) (result i32) i32.const 0))`,
      'not a valid bytes-ABI module: export `memory` must be a memory, not a global',
    ],
    [
      'a forbidden import',
      `(module (import "env" "fetch" (func)) ${BYTES_EXPORTS})`,
      'not a valid bytes-ABI module: import `env.fetch` is not allowed; allowed: env.abort, sparecycles.progress',
    ],
    [
      'an imported memory',
      `(module (import "env" "memory" (memory 1))
        (func (export "alloc") (param i32) (result i32) i32.const 0)
        (func (export "run") (param i32 i32) (result i32) i32.const 0))`,
      'not a valid bytes-ABI module: missing export `memory` (memory); import `env.memory` is not allowed; allowed: env.abort, sparecycles.progress',
    ],
    [
      'an allowed name imported as a global',
      `(module (import "env" "abort" (global i32)) ${BYTES_EXPORTS})`,
      'not a valid bytes-ABI module: import `env.abort` must be a function, not a global',
    ],
    ['an empty module', '(module)', 'not a valid bytes-ABI module: missing export `memory` (memory); missing export `alloc` (function); missing export `run` (function)'],
    [
      'a WASI command importing outside WASI',
      `(module (import "env" "now" (func (result f64))) (memory (export "memory") 1) (func (export "_start")))`,
      'not a valid WASI command: import `env.now` is not allowed; a WASI command may import only wasi_snapshot_preview1.*',
    ],
    [
      'a WASI command without _start',
      `(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))) (memory (export "memory") 1))`,
      'not a valid WASI command: missing export `_start` (function)',
    ],
    [
      'a WASI import that preview 1 does not have',
      `(module (import "wasi_snapshot_preview1" "sock_open" (func)) (memory (export "memory") 1) (func (export "_start")))`,
      'not a valid WASI command: import `wasi_snapshot_preview1.sock_open` is not a WASI preview 1 function',
    ],
    [
      'both shapes at once',
      `(module ${BYTES_EXPORTS} (func (export "_start")))`,
      'module has both `_start` (WASI command) and `run`/`alloc` (bytes ABI); export one shape only',
    ],
  ])('names the problem with %s', async (_name, wat, problem) => {
    expect(classifyModule(await compile(wat))).toEqual({ problem });
  });

  it('allows only WASI functions that the shim provides', () => {
    const provided = Object.keys(new WASI([], [], []).wasiImport);
    expect(WASI_PREVIEW1_FUNCTIONS.filter((name) => !provided.includes(name))).toEqual([]);
    expect(WASI_PREVIEW1_FUNCTIONS).toHaveLength(46);
  });
});

describe('classifyModule with the bytes: function types', () => {
  const classify = async (wat: string) => {
    const bytes = await watToWasm(wat);
    return classifyModule(await WebAssembly.compile(bytes), bytes);
  };

  it('accepts the compiled example modules', async () => {
    for (const name of ['primes', 'mandelbrot'] as const) {
      const bytes = await loadTaskWasm(name);
      expect(classifyModule(await WebAssembly.compile(bytes), bytes)).toEqual({ abi: 'bytes' });
    }
  });

  it.each([
    [
      'a run without a result',
      `(module (memory (export "memory") 1)
        (func (export "alloc") (param i32) (result i32) i32.const 0)
        (func (export "run") (param i32 i32)))`,
      'not a valid bytes-ABI module: export `run` has type (i32, i32) -> (); expected (i32, i32) -> i32',
    ],
    [
      'an alloc taking i64',
      `(module (memory (export "memory") 1)
        (func (export "alloc") (param i64) (result i32) i32.const 0)
        (func (export "run") (param i32 i32) (result i32) i32.const 0))`,
      'not a valid bytes-ABI module: export `alloc` has type (i64) -> i32; expected (i32) -> i32',
    ],
    [
      'an abort with the wrong parameters',
      `(module (import "env" "abort" (func (param i32))) ${BYTES_EXPORTS})`,
      'not a valid bytes-ABI module: import `env.abort` has type (i32) -> (); expected (i32, i32, i32, i32) -> ()',
    ],
    [
      'a progress taking f32',
      `(module (import "sparecycles" "progress" (func (param f32))) ${BYTES_EXPORTS})`,
      'not a valid bytes-ABI module: import `sparecycles.progress` has type (f32) -> (); expected (f64) -> ()',
    ],
    [
      'a _start with a result',
      `(module (memory (export "memory") 1) (func (export "_start") (result i32) i32.const 0))`,
      'not a valid WASI command: export `_start` has type () -> i32; expected () -> ()',
    ],
  ])('names %s', async (_name, wat, problem) => {
    expect(await classify(wat)).toEqual({ problem });
  });

  it('reads the types of imported and exported functions through the index space', async () => {
    const bytes = await watToWasm(`(module
      (import "a" "g" (global i32))
      (import "a" "f" (func (param f64 i64) (result f32)))
      (func $x (param v128) (result i32 i64) i32.const 0 i64.const 0)
      (export "x" (func $x))
      (export "f" (func 0)))`);
    const signatures = readFunctionSignatures(bytes);
    expect(signatures && Object.fromEntries(signatures.imports)).toEqual({ 'a.f': '(f64, i64) -> f32' });
    expect(signatures && Object.fromEntries(signatures.exports)).toEqual({ x: '(v128) -> (i32, i64)', f: '(f64, i64) -> f32' });
  });
});

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CodedError } from '../protocol/errors.ts';
import { watToWasm } from '../../../wasm/testing/wat.ts';
import { validateModule } from './validate.ts';

const limits = { maxModuleBytes: 64 * 1024, maxMemoryBytes: 16 * 65536 };

/** A minimal bytes-ABI module: `memory` (with the given limits), `alloc`, `run`. */
const bytesModule = (memory = '1', extra = ''): string => `(module
  ${extra}
  (memory (export "memory") ${memory})
  (func (export "alloc") (param i32) (result i32) i32.const 16)
  (func (export "run") (param i32 i32) (result i32) i32.const 0))`;

async function refusal(bytes: Uint8Array, custom = limits): Promise<CodedError> {
  try {
    await validateModule(bytes, custom);
  } catch (error) {
    if (error instanceof CodedError) return error;
    throw error;
  }
  throw new Error('module was accepted');
}

describe('validateModule', () => {
  it('accepts a bytes-ABI module and content-addresses it by SHA-256', async () => {
    const bytes = await watToWasm(bytesModule('1 4', '(import "env" "abort" (func (param i32 i32 i32 i32)))'));
    const info = await validateModule(bytes, limits);
    expect(info).toEqual({ hash: createHash('sha256').update(bytes).digest('hex'), abi: 'bytes', size: bytes.byteLength });
  });

  it('accepts a WASI command', async () => {
    const bytes = await watToWasm(`(module
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
      (memory (export "memory") 1)
      (func (export "_start")))`);
    expect((await validateModule(bytes, limits)).abi).toBe('wasi');
  });

  it.each([
    ['an empty body', new Uint8Array(), /empty body/],
    ['garbage', new TextEncoder().encode('hello, not wasm'), /not a valid WebAssembly binary/],
    ['a truncated module', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1]), /not a valid WebAssembly binary/],
  ])('refuses %s', async (_what, bytes, message) => {
    const error = await refusal(bytes);
    expect(error.code).toBe('invalid_module');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });

  it('refuses a module over the size limit with 413', async () => {
    const bytes = await watToWasm(bytesModule());
    const error = await refusal(bytes, { ...limits, maxModuleBytes: bytes.byteLength - 1 });
    expect(error.code).toBe('payload_too_large');
    expect(error.status).toBe(413);
  });

  it('names a missing ABI export', async () => {
    const bytes = await watToWasm(`(module (memory (export "memory") 1)
      (func (export "alloc") (param i32) (result i32) i32.const 0))`);
    const error = await refusal(bytes);
    expect(error.code).toBe('invalid_module');
    expect(error.message).toMatch(/run/);
  });

  it('names an ABI export of the wrong type', async () => {
    const bytes = await watToWasm(`(module (memory (export "memory") 1)
      (func (export "alloc") (param i32) (result i32) i32.const 0)
      (func (export "run") (param i32 i32)))`);
    const error = await refusal(bytes);
    expect(error.code).toBe('invalid_module');
    expect(error.message).toMatch(/run/);
  });

  it('names a forbidden import', async () => {
    const bytes = await watToWasm(bytesModule('1', '(import "env" "fetch" (func (param i32)))'));
    const error = await refusal(bytes);
    expect(error.code).toBe('invalid_module');
    expect(error.message).toMatch(/env\.fetch|fetch/);
  });

  it('refuses a declared memory maximum above the cap', async () => {
    const error = await refusal(await watToWasm(bytesModule('1 17')));
    expect(error.code).toBe('invalid_module');
    expect(error.message).toMatch(/maximum of 17 pages/);
    await expect(validateModule(await watToWasm(bytesModule('1 16')), limits)).resolves.toMatchObject({ abi: 'bytes' });
  });

  it('refuses initial memory above the cap', async () => {
    const error = await refusal(await watToWasm(bytesModule('17')));
    expect(error.message).toMatch(/initial memory of 17 pages/);
  });

  it('refuses shared memory', async () => {
    // wabt's validator refuses `shared` here, so flip the limits flag of `(memory 1 2)` by hand.
    const bytes = await watToWasm(bytesModule('1 2'));
    const at = bytes.findIndex((_, i) => bytes[i] === 5 && bytes[i + 2] === 1 && bytes[i + 3] === 1 && bytes[i + 4] === 1 && bytes[i + 5] === 2);
    expect(at).toBeGreaterThan(0);
    bytes[at + 3] = 3;
    expect(WebAssembly.validate(bytes)).toBe(true);
    const error = await refusal(bytes);
    expect(error.code).toBe('invalid_module');
    expect(error.message).toMatch(/shared/);
  });
});

/**
 * Compiles the C example with Debian's clang and wasi-libc (`apt-get install clang lld wasi-libc
 * libclang-rt-14-dev-wasm32`), for tests and the README's walk-through.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const COLLATZ_SOURCE = fileURLToPath(new URL('./collatz.c', import.meta.url));

/** Builds collatz.wasm into a fresh temporary folder; returns its path and bytes. */
export async function buildCollatz(): Promise<{ path: string; bytes: Uint8Array<ArrayBuffer> }> {
  const path = join(await mkdtemp(join(tmpdir(), 'collatz-')), 'collatz.wasm');
  try {
    await promisify(execFile)('clang', ['--target=wasm32-wasi', '-O2', '-s', '-o', path, COLLATZ_SOURCE]);
  } catch (error) {
    throw new Error(
      `could not compile ${COLLATZ_SOURCE}: install Debian's clang lld wasi-libc libclang-rt-14-dev-wasm32 (${String(error)})`,
    );
  }
  return { path, bytes: new Uint8Array(await readFile(path)) };
}

/**
 * The compiled example modules for tests (unit, e2e, benchmarks): builds them with
 * wasm/build.mjs first (quick when up to date), then reads dist/wasm/<name>.wasm.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The example task modules under wasm/tasks. */
export type TaskName = 'primes' | 'mandelbrot';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Directory the build writes modules to. */
export const TASK_WASM_DIR = join(root, 'dist', 'wasm');

/** Path of a compiled example module. */
export function taskWasmPath(name: TaskName): string {
  return join(TASK_WASM_DIR, `${name}.wasm`);
}

/** Builds (if out of date) and reads a compiled example module. */
export async function loadTaskWasm(name: TaskName): Promise<Uint8Array<ArrayBuffer>> {
  await promisify(execFile)(process.execPath, [join(root, 'wasm', 'build.mjs'), name], { cwd: root });
  return new Uint8Array(await readFile(taskWasmPath(name)));
}

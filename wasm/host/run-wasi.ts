/**
 * Runs one task of a WASI command (preview 1) through @bjorn3/browser_wasi_shim: the input is
 * stdin, stdout is the output, exit code 0 is success. No preopened directories, so the module
 * sees no file system; no arguments but the program name, no environment.
 */
import { ConsoleStdout, File, OpenFile, WASI } from '@bjorn3/browser_wasi_shim';
import { concat, formatBytes } from './binary.ts';
import { HostStop, failure, failureFromError, overCap } from './outcome.ts';
import type { TaskLimits, TaskOutcome } from './outcome.ts';

const STDERR_TAIL_BYTES = 600;

/**
 * A fixed xorshift64* stream for `random_get`: replicas of a task on different machines must
 * produce identical bytes, so randomness (e.g. hash-map seeds) is reproducible, not secret.
 */
function deterministicRandom(getMemory: () => WebAssembly.Memory): (ptr: number, len: number) => number {
  let state = 0x9e3779b97f4a7c15n;
  return (ptr, len) => {
    const bytes = new Uint8Array(getMemory().buffer, ptr >>> 0, len >>> 0);
    for (let i = 0; i < bytes.length; i++) {
      state ^= state >> 12n;
      state ^= (state << 25n) & 0xffffffffffffffffn;
      state ^= state >> 27n;
      bytes[i] = Number(((state * 0x2545f4914f6cdd1dn) >> 56n) & 0xffn);
    }
    return 0;
  };
}

function withStderr(message: string, tail: Uint8Array): string {
  const text = new TextDecoder().decode(tail).trim();
  return text ? `${message.slice(0, 300)}; stderr: ${text}` : message;
}

/** Runs `input` through a fresh instance of a WASI command. Never throws. */
export async function runWasiTask(module: WebAssembly.Module, input: Uint8Array, limits: TaskLimits): Promise<TaskOutcome> {
  const stdoutChunks: Uint8Array[] = [];
  let stdoutBytes = 0;
  let stderrTail = new Uint8Array(0);
  const stdout = new ConsoleStdout((data) => {
    stdoutBytes += data.length;
    if (stdoutBytes > limits.maxOutputBytes) {
      throw new HostStop('invalid', `output of more than ${formatBytes(limits.maxOutputBytes)} exceeds the limit`);
    }
    stdoutChunks.push(data.slice());
  });
  const stderr = new ConsoleStdout((data) => {
    const joined = concat([stderrTail, data]);
    stderrTail = joined.slice(Math.max(0, joined.length - STDERR_TAIL_BYTES));
  });
  const stdin = new OpenFile(new File(input.slice(), { readonly: true }));
  const wasi = new WASI(['task'], [], [stdin, stdout, stderr]);
  let memory: WebAssembly.Memory | undefined;
  wasi.wasiImport.random_get = deterministicRandom(() => memory!);
  try {
    const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.wasiImport });
    const { memory: mem, _start: start } = instance.exports;
    if (!(mem instanceof WebAssembly.Memory)) return failure('invalid', 'missing export `memory` (memory)');
    if (typeof start !== 'function') return failure('invalid', 'missing export `_start` (function)');
    memory = mem;
    const code = wasi.start({ exports: { memory: mem, _start: start as () => unknown } });
    const tooBig = overCap(mem, limits.maxMemoryBytes);
    if (tooBig) return tooBig;
    if (code !== 0) return failure('trap', withStderr(`exit code ${code}`, stderrTail));
    return { ok: true, output: concat(stdoutChunks) };
  } catch (error) {
    const outcome = failureFromError(error, memory, limits);
    // A Rust panic or a C assert says why on stderr before it traps.
    return outcome.ok ? outcome : failure(outcome.kind, withStderr(outcome.message, stderrTail));
  }
}

/**
 * Runs one task of a bytes-ABI module: a fresh instance, `alloc` the input, copy it in, `run`,
 * read the LE u32 length and the bytes at the returned pointer, copy them out.
 */
import { formatBytes } from './binary.ts';
import { HostStop, failure, failureFromError, overCap } from './outcome.ts';
import type { TaskHooks, TaskLimits, TaskOutcome } from './outcome.ts';

const STRING_LIMIT_BYTES = 2_000;

/**
 * Reads an AssemblyScript string (UTF-16LE, byte length in the u32 before it), or undefined when
 * the pointer does not lead to one: abort's arguments come from the module and are not trusted.
 */
function readAsString(memory: WebAssembly.Memory | undefined, ptr: number): string | undefined {
  if (!memory || ptr < 4) return undefined;
  const buffer = memory.buffer;
  if (ptr > buffer.byteLength) return undefined;
  const length = new DataView(buffer).getUint32(ptr - 4, true);
  if (length % 2 !== 0 || ptr + length > buffer.byteLength) return undefined;
  // A copy: TextDecoder refuses views of a SharedArrayBuffer.
  const bytes = new Uint8Array(Math.min(length, STRING_LIMIT_BYTES));
  bytes.set(new Uint8Array(buffer, ptr, bytes.length));
  return new TextDecoder('utf-16le').decode(bytes);
}

function abortMessage(memory: WebAssembly.Memory | undefined, msg: number, file: number, line: number, column: number): string {
  const text = readAsString(memory, msg >>> 0) ?? 'abort called';
  const where = readAsString(memory, file >>> 0);
  return where ? `abort: ${text} (${where}:${line >>> 0}:${column >>> 0})` : `abort: ${text}`;
}

function copyOut(memory: WebAssembly.Memory, ptr: number, limits: TaskLimits): TaskOutcome {
  const size = memory.buffer.byteLength;
  if (ptr + 4 > size) {
    return failure('invalid', `run returned output pointer ${ptr}, outside memory (${size} bytes)`);
  }
  const length = new DataView(memory.buffer).getUint32(ptr, true);
  if (length > limits.maxOutputBytes) {
    return failure('invalid', `output of ${length} bytes exceeds the limit of ${formatBytes(limits.maxOutputBytes)}`);
  }
  if (ptr + 4 + length > size) {
    return failure('invalid', `output length ${length} at pointer ${ptr} runs past the end of memory (${size} bytes)`);
  }
  const output = new Uint8Array(length);
  output.set(new Uint8Array(memory.buffer, ptr + 4, length));
  return { ok: true, output };
}

/** Runs `input` through a fresh instance of a bytes-ABI module. Never throws. */
export async function runBytesTask(
  module: WebAssembly.Module,
  input: Uint8Array,
  limits: TaskLimits,
  hooks: TaskHooks = {},
): Promise<TaskOutcome> {
  let memory: WebAssembly.Memory | undefined;
  const imports = {
    env: {
      abort(msg: number, file: number, line: number, column: number): never {
        throw new HostStop('trap', abortMessage(memory, msg, file, line, column));
      },
    },
    sparecycles: {
      progress(fraction: number): void {
        if (!Number.isFinite(fraction) || !hooks.onProgress) return;
        try {
          hooks.onProgress(Math.min(1, Math.max(0, fraction)));
        } catch {
          // A failing listener is the embedder's bug, not the module's: the task goes on.
        }
      },
    },
  };
  try {
    const instance = await WebAssembly.instantiate(module, imports);
    const { memory: mem, alloc, run } = instance.exports;
    if (!(mem instanceof WebAssembly.Memory)) return failure('invalid', 'missing export `memory` (memory)');
    if (typeof alloc !== 'function') return failure('invalid', 'missing export `alloc` (function)');
    if (typeof run !== 'function') return failure('invalid', 'missing export `run` (function)');
    memory = mem;
    const inputPtr = Number(alloc(input.length)) >>> 0;
    // alloc may have grown the memory, detaching earlier views: take a fresh one.
    if (inputPtr + input.length > memory.buffer.byteLength) {
      return failure('invalid', `alloc returned pointer ${inputPtr} for ${input.length} bytes, outside memory (${memory.buffer.byteLength} bytes)`);
    }
    new Uint8Array(memory.buffer).set(input, inputPtr);
    const outputPtr = Number(run(inputPtr, input.length)) >>> 0;
    return overCap(memory, limits.maxMemoryBytes) ?? copyOut(memory, outputPtr, limits);
  } catch (error) {
    return failureFromError(error, memory, limits);
  }
}

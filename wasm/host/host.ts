/**
 * The ABI host: compiles a task module under the operator's memory cap and runs one task in a
 * fresh instance. WebAssembly only (no DOM, no Node APIs), so the browser worker and the Node
 * agent run tasks through the same code.
 */
import { classifyModule } from './abi.ts';
import { capMemory } from './binary.ts';
import type { Classification } from './abi.ts';
import { capPages, failure } from './outcome.ts';
import type { TaskHooks, TaskLimits, TaskOutcome } from './outcome.ts';
import { runBytesTask } from './run-bytes.ts';
import { runWasiTask } from './run-wasi.ts';

/**
 * Compiles a module whose memory may not grow past `maxMemoryBytes`: a declared maximum above the
 * cap is lowered to it and a missing one is added, so the engine itself refuses the growth.
 * Throws when the module is not valid WebAssembly or its initial memory is already above the cap.
 */
export async function compileTask(bytes: Uint8Array, maxMemoryBytes: number): Promise<WebAssembly.Module> {
  const capped = capMemory(bytes, capPages(maxMemoryBytes));
  const module = await WebAssembly.compile(capped);
  shapes.set(module, classifyModule(module, capped));
  return module;
}

/** Shapes of compiled modules; those from compileTask include the function-type checks. */
const shapes = new WeakMap<WebAssembly.Module, Classification>();

function shapeOf(module: WebAssembly.Module): Classification {
  let shape = shapes.get(module);
  if (!shape) {
    shape = classifyModule(module);
    shapes.set(module, shape);
  }
  return shape;
}

/**
 * Runs one task: `input` in, output bytes out, in a fresh instance that is dropped afterwards
 * (so nothing leaks between tasks and nothing is reused after a trap). Never throws for a
 * module's misbehaviour; it returns a failure outcome instead. No timeout: a runaway module is
 * stopped by terminating the worker that runs it.
 */
export async function runTask(
  module: WebAssembly.Module,
  input: Uint8Array,
  limits: TaskLimits,
  hooks: TaskHooks = {},
): Promise<TaskOutcome> {
  const shape = shapeOf(module);
  if ('problem' in shape) return failure('invalid', shape.problem);
  return shape.abi === 'wasi' ? runWasiTask(module, input, limits) : runBytesTask(module, input, limits, hooks);
}

/**
 * The ABI host: compiles a task module under the operator's memory cap and runs one task in a
 * fresh instance. WebAssembly only (no DOM, no Node APIs), so the browser worker and the Node
 * agent run tasks through the same code.
 */
import { classifyModule } from './abi.ts';
import { capMemory, capTables } from './binary.ts';
import { checkResources } from './resource-limits.ts';
import type { Classification } from './abi.ts';
import { capPages, failure } from './outcome.ts';
import type { TaskHooks, TaskLimits, TaskOutcome } from './outcome.ts';
import { runBytesTask } from './run-bytes.ts';
import { runWasiTask } from './run-wasi.ts';

/**
 * Compiles a module whose memory may not grow past `maxMemoryBytes`: a declared maximum above the
 * cap is lowered to it and a missing one is added, so the engine itself refuses the growth. Its
 * other resources are checked against `RESOURCE_LIMITS` first (the same check as at upload), and
 * a table without a maximum is given its initial size as one, so nothing it claims when
 * instantiated or grows to later passes those limits. Throws, naming the problem, when the module
 * is not valid WebAssembly, claims too much, or its initial memory is already above the cap: the
 * runtime reports that as the task error `invalid` before any instance exists.
 */
export async function compileTask(bytes: Uint8Array, maxMemoryBytes: number): Promise<WebAssembly.Module> {
  // Before anything is compiled or instantiated: a module that skipped the upload check (another
  // coordinator, a stale cache) stops here.
  const problem = checkResources(bytes);
  if (problem) throw new Error(problem);
  const capped = capTables(capMemory(bytes, capPages(maxMemoryBytes)));
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

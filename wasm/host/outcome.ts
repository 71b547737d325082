/**
 * What running one task produced, and how a failure while running it maps onto the outcome kinds
 * the coordinator knows (`trap`, `memory`, `invalid`; `timeout` belongs to the worker pool).
 */
import { WASM_PAGE_BYTES, formatBytes } from './binary.ts';

/** The result of one task: its output, or why there is none. */
export type TaskOutcome =
  | { ok: true; output: Uint8Array }
  | { ok: false; kind: FailureKind; message: string };

/** Why a task produced no output. */
export type FailureKind = 'trap' | 'memory' | 'invalid';

/** Limits the host enforces on one task. */
export interface TaskLimits {
  /** Linear-memory cap in bytes (rounded down to whole 64 KiB pages). */
  maxMemoryBytes: number;
  /** Largest output accepted, in bytes. */
  maxOutputBytes: number;
}

/** Callbacks a task may reach through the runtime's imports. */
export interface TaskHooks {
  /** The module reported progress; `fraction` is clamped to [0, 1]. */
  onProgress?(fraction: number): void;
}

const MESSAGE_LIMIT = 1_000;

/**
 * Thrown by the host's own imports to stop a module with a known outcome (an `env.abort` call,
 * output over the limit). It unwinds through the module's frames like any JS exception.
 */
export class HostStop extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'HostStop';
  }
}

/** A failure outcome, with the message trimmed to a size that travels well. */
export function failure(kind: FailureKind, message: string): TaskOutcome {
  const trimmed = message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT - 1)}…` : message;
  return { ok: false, kind, message: trimmed };
}

/** Whole pages the cap allows. */
export function capPages(maxMemoryBytes: number): number {
  return Math.floor(maxMemoryBytes / WASM_PAGE_BYTES);
}

/** The memory cannot grow by one more page without passing the cap. */
function atCap(memory: WebAssembly.Memory | undefined, maxMemoryBytes: number): boolean {
  return memory !== undefined && memory.buffer.byteLength + WASM_PAGE_BYTES > capPages(maxMemoryBytes) * WASM_PAGE_BYTES;
}

/** `memory` when the module's memory passed the cap (possible only for an uncapped module). */
export function overCap(memory: WebAssembly.Memory, maxMemoryBytes: number): TaskOutcome | undefined {
  const used = memory.buffer.byteLength;
  if (used <= capPages(maxMemoryBytes) * WASM_PAGE_BYTES) return undefined;
  return failure('memory', `memory grew to ${formatBytes(used)}, above the limit of ${formatBytes(maxMemoryBytes)}`);
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * Maps whatever a module's run threw onto an outcome. A trap with the memory at the cap is a
 * `memory` failure: allocators trap (AssemblyScript's stub runs `unreachable`) when `memory.grow`
 * fails, and the host cannot see the failed grow itself.
 */
export function failureFromError(error: unknown, memory: WebAssembly.Memory | undefined, limits: TaskLimits): TaskOutcome {
  if (error instanceof HostStop && error.kind === 'invalid') return failure('invalid', error.message);
  if (error instanceof WebAssembly.LinkError) return failure('invalid', `cannot instantiate module: ${describe(error)}`);
  if (error instanceof RangeError && /out of memory|cannot allocate/i.test(error.message)) {
    return failure('memory', `cannot allocate the module's memory within ${formatBytes(limits.maxMemoryBytes)}: ${describe(error)}`);
  }
  if (error instanceof WebAssembly.CompileError) return failure('invalid', `module does not compile: ${describe(error)}`);
  if (atCap(memory, limits.maxMemoryBytes)) {
    return failure('memory', `memory limit of ${formatBytes(limits.maxMemoryBytes)} reached: ${describe(error)}`);
  }
  return failure('trap', describe(error));
}

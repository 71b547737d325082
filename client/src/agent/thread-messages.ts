/**
 * What the agent's main thread and a task thread say to each other: one `run` message per task and
 * one answer, matched by id. A lean protocol of our own instead of comlink's proxies (one
 * listener for the thread's life, no per-call listener, id or wrapping): on tiny tasks the
 * messaging is much of a task's cost. A thread keeps the last module it was sent, so a run of the
 * same module (the usual case: a job's tasks) sends only its key, not the module again.
 */
import type { TaskLimits } from '../../../wasm/host/index.ts';
import type { RunReport } from '../worker/runner.ts';

export interface RunMessage {
  id: number;
  /** Names the module within this thread's life; `module` comes along when the thread lacks it. */
  moduleKey: number;
  module?: WebAssembly.Module;
  input: Uint8Array;
  limits: TaskLimits;
}

/** The thread's answer: the runner's report, or why the runner itself failed (never a module's fault). */
export type RunAnswer = { id: number; report: RunReport } | { id: number; error: string };

/**
 * The module a thread should be sent with this run: none when the thread holds `key` already
 * (it was the last one sent to it), else the module itself.
 */
export function moduleToSend(held: number | undefined, key: number, module: WebAssembly.Module): WebAssembly.Module | undefined {
  return held === key ? undefined : module;
}

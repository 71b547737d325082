/**
 * The one object a worker exposes: `run` a task through the shared wasm host and report how long
 * it took. Platform-neutral: the browser worker, the Node worker thread and the Node agent's
 * inline mode all use it.
 */
import { runTask } from '../../../wasm/host/index.ts';
import type { TaskLimits, TaskOutcome } from '../../../wasm/host/index.ts';

/** What one run produced and the milliseconds the worker spent on it. */
export interface RunReport {
  outcome: TaskOutcome;
  ms: number;
}

/** The runner as the pool sees it: possibly remote, so always asynchronous. */
export interface TaskRunner {
  run(module: WebAssembly.Module, input: Uint8Array, limits: TaskLimits): Promise<RunReport>;
}

/** A runner that executes tasks in the current thread. */
export function createRunner(now: () => number = () => performance.now()): TaskRunner {
  return {
    async run(module, input, limits) {
      const started = now();
      const outcome = await runTask(module, input, limits);
      return { outcome, ms: now() - started };
    },
  };
}

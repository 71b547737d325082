/**
 * The Node agent's two ways to run tasks, as pool worker factories: `worker_threads` (a runaway
 * task is terminated with its thread) and `inline` (the host in the main thread: no isolation
 * and no preemption, for many light volunteers in one process, as benchmarks use).
 */
import { Worker } from 'node:worker_threads';
import { wrap } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import type { WorkerFactory } from '../runtime/pool.ts';
import { createRunner, type TaskRunner } from '../worker/runner.ts';

// From source (tsx, vitest) the thread needs a TypeScript loader of its own.
const fromSource = import.meta.url.endsWith('.ts');
const entry = new URL(fromSource ? './thread-entry.mjs' : './thread-worker.js', import.meta.url);

/** Starts each pool worker as a `worker_threads` thread speaking comlink. */
export const threadWorkers: WorkerFactory = () => {
  const worker = new Worker(entry);
  const runner = wrap<TaskRunner>(nodeEndpoint(worker));
  return {
    runner,
    terminate: () => void worker.terminate(),
    onCrash(listener) {
      worker.once('error', (error) => listener(error.message));
      worker.once('exit', (code) => listener(`the thread exited with code ${code}`));
    },
  };
};

/** Runs every pool worker's tasks in the calling thread. */
export const inlineWorkers: WorkerFactory = () => ({ runner: createRunner(), terminate: () => {} });

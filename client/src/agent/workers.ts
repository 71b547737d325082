/**
 * The Node agent's two ways to run tasks, as pool worker factories: `worker_threads` (a runaway
 * task is terminated with its thread) and `inline` (the host in the main thread: no isolation
 * and no preemption, for many light volunteers in one process, as benchmarks use).
 */
import { Worker } from 'node:worker_threads';
import type { WorkerFactory } from '../runtime/pool.ts';
import { createRunner, type RunReport } from '../worker/runner.ts';
import { moduleToSend, type RunAnswer, type RunMessage } from './thread-messages.ts';

// From source (tsx, vitest) the thread needs a TypeScript loader of its own.
const fromSource = import.meta.url.endsWith('.ts');
const entry = new URL(fromSource ? './thread-entry.mjs' : './thread-worker.js', import.meta.url);

/** Keys for compiled modules, the same in every thread of this process. */
const moduleKeys = new WeakMap<WebAssembly.Module, number>();
let nextModuleKey = 0;
function keyOf(module: WebAssembly.Module): number {
  let key = moduleKeys.get(module);
  if (key === undefined) {
    key = nextModuleKey++;
    moduleKeys.set(module, key);
  }
  return key;
}

/** Starts each pool worker as a `worker_threads` thread answering `run` messages (thread-messages.ts). */
export const threadWorkers: WorkerFactory = () => {
  const worker = new Worker(entry);
  const waiting = new Map<number, { resolve(report: RunReport): void; reject(error: Error): void }>();
  let nextId = 0;
  let heldKey: number | undefined;
  worker.on('message', (answer: RunAnswer) => {
    const caller = waiting.get(answer.id);
    waiting.delete(answer.id);
    if ('error' in answer) caller?.reject(new Error(answer.error));
    else caller?.resolve(answer.report);
  });
  return {
    runner: {
      run(module, input, limits) {
        const id = nextId++;
        const moduleKey = keyOf(module);
        const sent = moduleToSend(heldKey, moduleKey, module);
        heldKey = moduleKey;
        const message: RunMessage = sent ? { id, moduleKey, module: sent, input, limits } : { id, moduleKey, input, limits };
        return new Promise<RunReport>((resolve, reject) => {
          waiting.set(id, { resolve, reject });
          worker.postMessage(message);
        });
      },
    },
    terminate: () => void worker.terminate(),
    onCrash(listener) {
      worker.once('error', (error) => listener(error.message));
      worker.once('exit', (code) => listener(`the thread exited with code ${code}`));
    },
  };
};

/** Runs every pool worker's tasks in the calling thread. */
export const inlineWorkers: WorkerFactory = () => ({ runner: createRunner(), terminate: () => {} });

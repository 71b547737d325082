/**
 * The native baseline: the same wasm tasks run directly in Node `worker_threads`, one per core,
 * through the same runner and ABI host the browser worker uses, with no coordinator in between.
 * This is the machine's limit.
 */
import { threadWorkers } from '../client/src/agent/workers.ts';
import { compileTask, type TaskLimits } from '../wasm/host/index.ts';

export interface NativeRun {
  wallMs: number;
  outputs: Uint8Array[];
}

/** Runs every input on `workers` threads (a shared queue), timing only the work, not start-up. */
export async function runNative(
  moduleBytes: Uint8Array,
  inputs: Uint8Array[],
  workers: number,
  limits: TaskLimits,
): Promise<NativeRun> {
  const module = await compileTask(moduleBytes, limits.maxMemoryBytes);
  const pool = Array.from({ length: workers }, () => threadWorkers());
  // Warm each thread up (start-up and first instantiation are not part of the figure).
  await Promise.all(pool.map((worker) => worker.runner.run(module, inputs[0] ?? new Uint8Array(8), limits)));
  const outputs: Uint8Array[] = new Array(inputs.length);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    pool.map(async (worker) => {
      while (next < inputs.length) {
        const index = next++;
        const { outcome } = await worker.runner.run(module, inputs[index] as Uint8Array, limits);
        if (!outcome.ok) throw new Error(`native task ${index} failed: ${outcome.message}`);
        outputs[index] = outcome.output;
      }
    }),
  );
  const wallMs = performance.now() - started;
  pool.forEach((worker) => worker.terminate());
  return { wallMs, outputs };
}

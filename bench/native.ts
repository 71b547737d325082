/**
 * The native baseline: the same wasm tasks run directly in Node `worker_threads`, one per core,
 * through the same ABI host the browser worker uses. This is the machine's limit.
 */
import { Worker } from 'node:worker_threads';

export interface NativeRun {
  wallMs: number;
  outputs: Uint8Array[];
}

function startWorker(moduleBytes: Uint8Array): Promise<Worker> {
  const worker = new Worker(new URL('./native-worker.ts', import.meta.url), {
    workerData: { moduleBytes },
    execArgv: ['--import', 'tsx'],
  });
  return new Promise((resolve, reject) => {
    worker.once('message', () => resolve(worker));
    worker.once('error', reject);
  });
}

/** Runs every input on `workers` threads (a shared queue), timing only the work, not start-up. */
export async function runNative(moduleBytes: Uint8Array, inputs: Uint8Array[], workers: number): Promise<NativeRun> {
  const pool = await Promise.all(Array.from({ length: workers }, () => startWorker(moduleBytes)));
  const outputs: Uint8Array[] = new Array(inputs.length);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    pool.map(async (worker) => {
      while (next < inputs.length) {
        const index = next++;
        const input = inputs[index] as Uint8Array;
        outputs[index] = await new Promise<Uint8Array>((resolve) => {
          worker.once('message', (output: Uint8Array) => resolve(output));
          worker.postMessage(input);
        });
      }
    }),
  );
  const wallMs = performance.now() - started;
  await Promise.all(pool.map((worker) => worker.terminate()));
  return { wallMs, outputs };
}

/** One worker_threads worker of the native baseline: compile once, run each task it is sent. */
import { parentPort, workerData } from 'node:worker_threads';
import { compileTask, runTask } from '../wasm/host/index.ts';

const LIMITS = { maxMemoryBytes: 256 * 1024 * 1024, maxOutputBytes: 4 * 1024 * 1024 };
const { moduleBytes } = workerData as { moduleBytes: Uint8Array };
const module = await compileTask(moduleBytes, LIMITS.maxMemoryBytes);

parentPort?.on('message', async (input: Uint8Array) => {
  const outcome = await runTask(module, input, LIMITS);
  parentPort?.postMessage(outcome.ok ? outcome.output : new Uint8Array(0));
});
parentPort?.postMessage('ready');

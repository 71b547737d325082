/** The Node agent's task worker thread: the same runner, answering the main thread's `run` messages. */
import { parentPort } from 'node:worker_threads';
import { errorMessage } from '../runtime/error-message.ts';
import { createRunner } from '../worker/runner.ts';
import type { RunAnswer, RunMessage } from './thread-messages.ts';

if (!parentPort) throw new Error('thread-worker.ts must run in a worker thread');
const port = parentPort;
const runner = createRunner();
// The last module sent: the main thread sends a module only when this one is not it.
let held: { key: number; module: WebAssembly.Module } | undefined;

port.on('message', (message: RunMessage) => {
  if (message.module) held = { key: message.moduleKey, module: message.module };
  const answer = (reply: RunAnswer): void => port.postMessage(reply);
  if (held?.key !== message.moduleKey) {
    answer({ id: message.id, error: `module ${message.moduleKey} was never sent to this thread` });
    return;
  }
  runner.run(held.module, message.input, message.limits).then(
    (report) => answer({ id: message.id, report }),
    (error: unknown) => answer({ id: message.id, error: errorMessage(error) }),
  );
});

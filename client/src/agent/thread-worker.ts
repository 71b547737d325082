/** The Node agent's task worker thread: the same runner, over comlink's `worker_threads` adapter. */
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { createRunner } from '../worker/runner.ts';

if (!parentPort) throw new Error('thread-worker.ts must run in a worker thread');
expose(createRunner(), nodeEndpoint(parentPort));

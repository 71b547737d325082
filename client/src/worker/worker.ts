/** The browser's task worker: exposes the runner to the pool over comlink. */
import { expose } from 'comlink';
import { createRunner } from './runner.ts';

expose(createRunner());

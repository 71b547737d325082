// Boots a worker thread from TypeScript source: registers tsx's loader in this thread, then
// loads the worker. Used only when the agent itself runs from source (tsx, vitest).
import { register } from 'tsx/esm/api';

register();
await import('./thread-worker.ts');

/**
 * A coordinator for the idle-connections bench: `npm start`'s coordinator (server/src/main.ts's
 * `runCoordinator`), run with `--expose-gc` under an IPC channel so the bench can ask for its memory
 * after a full collection — RSS alone counts garbage V8 has not yet collected and heap it keeps.
 */
import { runCoordinator } from '../server/src/start.ts';

export interface CoordinatorMemory {
  type: 'memory';
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with --expose-gc');

process.on('message', (message: unknown) => {
  if (message !== 'memory') return;
  collect();
  const usage = process.memoryUsage();
  const reply: CoordinatorMemory = { type: 'memory', rssBytes: usage.rss, heapUsedBytes: usage.heapUsed, externalBytes: usage.external };
  process.send?.(reply);
});
// The bench going away must not leave a coordinator behind.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
runCoordinator();

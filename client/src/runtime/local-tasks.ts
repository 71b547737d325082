/**
 * The host page's own tasks (`run()`) waiting for a worker of the visitor's pool: in their own
 * queue, each with its `queueMs`; one still waiting then answers `busy`, for its caller to run it
 * elsewhere. The loop decides when a worker may take one (before any queued lease, within the same
 * worker count and duty cycle); dropping answers the waiting ones `busy` and terminates the running.
 */
import { errorMessage } from './error-message.ts';
import type { Pool, PoolOutcome, PoolTask } from './pool.ts';
import type { Timers } from './timers.ts';

interface Waiting {
  task: PoolTask;
  timer: unknown;
  settle(outcome: PoolOutcome | 'busy'): void;
}

export interface LocalTasks {
  /** Queues `task`; resolves with its outcome, or `busy` when no worker took it within `queueMs`. */
  add(task: PoolTask, queueMs: number): Promise<PoolOutcome | 'busy'>;
  waiting(): number;
  running(): number;
  /** Starts the longest-waiting task on the pool (the caller made sure a worker may take it). */
  startNext(): void;
  /** Waiting tasks answer `busy`; running ones are terminated (`cancelled`). */
  drop(): void;
}

export function createLocalTasks(options: { pool: Pool; timers: Timers; onFinished(outcome: PoolOutcome): void }): LocalTasks {
  const { pool, timers } = options;
  let queue: Waiting[] = [];
  const running = new Set<string>();

  return {
    add(task, queueMs) {
      return new Promise((resolve) => {
        const entry: Waiting = {
          task,
          settle: resolve,
          timer: timers.setTimeout(() => {
            queue = queue.filter((waiting) => waiting !== entry);
            resolve('busy');
          }, Math.max(0, queueMs)),
        };
        queue.push(entry);
      });
    },
    waiting: () => queue.length,
    running: () => running.size,
    startNext() {
      const entry = queue.shift();
      if (!entry) return;
      timers.clearTimeout(entry.timer);
      running.add(entry.task.id);
      void pool
        .run(entry.task)
        .catch((error: unknown): PoolOutcome => ({ ok: false, kind: 'cancelled', message: errorMessage(error), ms: 0 }))
        .then((outcome) => {
          running.delete(entry.task.id);
          entry.settle(outcome);
          options.onFinished(outcome);
        });
    },
    drop() {
      for (const entry of queue.splice(0)) {
        timers.clearTimeout(entry.timer);
        entry.settle('busy');
      }
      for (const id of [...running]) pool.cancel(id);
    },
  };
}

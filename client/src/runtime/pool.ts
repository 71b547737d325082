/**
 * A fixed number of task workers, one task per worker at a time. Each run is raced against its
 * time budget: a worker that overruns it (or runs a cancelled task) is terminated and replaced,
 * since a running wasm loop cannot be interrupted any other way.
 *
 * The pool knows workers only through `WorkerFactory`, so the same pool drives browser Web
 * Workers, Node `worker_threads` and the Node agent's in-thread runner.
 */
import type { TaskLimits } from '../../../wasm/host/index.ts';
import type { RunReport, TaskRunner } from '../worker/runner.ts';
import { systemTimers, type Timers } from './timers.ts';
import { errorMessage } from './error-message.ts';

/** One worker as the pool sees it. */
export interface WorkerHandle {
  runner: TaskRunner;
  /** Stops the worker at once, even in the middle of a task. */
  terminate(): void;
  /** Subscribes to the worker dying on its own (a crash); optional for runners that cannot. */
  onCrash?(listener: (message: string) => void): void;
}

/** Starts a fresh worker. */
export type WorkerFactory = () => WorkerHandle;

/** A task for the pool. `id` names it for `cancel`. */
export interface PoolTask {
  id: string;
  module: WebAssembly.Module;
  input: Uint8Array;
  limits: TaskLimits;
  /** Wall-clock budget; past it the worker is terminated and the outcome is `timeout`. */
  timeoutMs: number;
}

/** How a pool run ended. `cancelled` only ever follows a `cancel` or `close` call. */
export type PoolOutcome =
  | { ok: true; output: Uint8Array; ms: number }
  | { ok: false; kind: 'trap' | 'memory' | 'invalid' | 'timeout' | 'cancelled'; message: string; ms: number };

export interface Pool {
  readonly size: number;
  /** Workers not running a task. */
  free(): number;
  /** Runs a task on a free worker; rejects only when none is free or the pool is closed. */
  run(task: PoolTask): Promise<PoolOutcome>;
  /** Stops a running task (terminating its worker); `false` when no such task runs. */
  cancel(id: string): boolean;
  /** Terminates every worker; running tasks end `cancelled`. */
  close(): void;
}

export interface PoolOptions {
  size: number;
  create: WorkerFactory;
  timers?: Timers;
  now?: () => number;
}

interface Slot {
  worker: WorkerHandle | undefined;
  task: { id: string; finish(outcome: PoolOutcome): void } | undefined;
}

/** A pool of `size` workers, started lazily and kept for reuse. */
export function createPool(options: PoolOptions): Pool {
  const { size, create } = options;
  const timers = options.timers ?? systemTimers;
  const now = options.now ?? (() => performance.now());
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
  const slots: Slot[] = Array.from({ length: size }, () => ({ worker: undefined, task: undefined }));
  let closed = false;

  // A replaced worker's late answer must not reach the next task: each slot's task is finished
  // once, through `finish`, whichever of answer, timeout, crash or cancel comes first.
  const discard = (slot: Slot): void => {
    slot.worker?.terminate();
    slot.worker = undefined;
  };

  const workerFor = (slot: Slot): WorkerHandle => {
    if (slot.worker) return slot.worker;
    const worker = create();
    worker.onCrash?.((message) => {
      if (slot.worker !== worker) return;
      discard(slot);
      slot.task?.finish({ ok: false, kind: 'trap', message: `the worker stopped: ${message}`, ms: 0 });
    });
    slot.worker = worker;
    return worker;
  };

  return {
    size,
    free: () => slots.filter((slot) => !slot.task).length,

    run(task) {
      if (closed) return Promise.reject(new Error('the pool is closed'));
      const slot = slots.find((candidate) => !candidate.task);
      if (!slot) return Promise.reject(new Error('no free worker'));
      const worker = workerFor(slot);
      const started = now();

      return new Promise<PoolOutcome>((resolve) => {
        let timer: unknown;
        const finish = (outcome: PoolOutcome): void => {
          if (slot.task !== current) return;
          timers.clearTimeout(timer);
          slot.task = undefined;
          resolve(outcome);
        };
        const current = { id: task.id, finish };
        slot.task = current;

        timer = timers.setTimeout(() => {
          discard(slot);
          finish(timedOut(task.timeoutMs, now() - started));
        }, Math.max(0, task.timeoutMs));

        worker.runner.run(task.module, task.input, task.limits).then(
          (report) => finish(fromReport(report, task.timeoutMs)),
          (error: unknown) => {
            // The runner never throws for a module's fault: this is the worker itself failing.
            discard(slot);
            finish({ ok: false, kind: 'trap', message: `the worker failed: ${errorMessage(error)}`, ms: now() - started });
          },
        );
      });
    },

    cancel(id) {
      const slot = slots.find((candidate) => candidate.task?.id === id);
      if (!slot?.task) return false;
      discard(slot);
      slot.task.finish({ ok: false, kind: 'cancelled', message: 'cancelled', ms: 0 });
      return true;
    },

    close() {
      closed = true;
      for (const slot of slots) {
        const task = slot.task;
        discard(slot);
        task?.finish({ ok: false, kind: 'cancelled', message: 'the pool closed', ms: 0 });
      }
    },
  };
}

function fromReport(report: RunReport, timeoutMs: number): PoolOutcome {
  // A runner that cannot be interrupted (the in-thread one) answers late instead of never.
  if (report.ms > timeoutMs) return timedOut(timeoutMs, report.ms);
  return { ...report.outcome, ms: report.ms };
}

function timedOut(timeoutMs: number, ms: number): PoolOutcome {
  return { ok: false, kind: 'timeout', message: `the task ran past its time limit of ${Math.round(timeoutMs)} ms`, ms };
}

/**
 * The browser runtime, loaded by the frame only after the visitor consented: opens the database,
 * connects to the coordinator (same origin as the frame), starts the worker pool and runs the
 * lease loop with its outbox in IndexedDB. The frame drives it with pause/resume/stop and shows
 * its stats.
 */
import { wrap } from 'comlink';
import { compileTask } from '../../../wasm/host/index.ts';
import type { TaskRunner } from '../worker/runner.ts';
import { createIdbByteCache } from './cache.ts';
import { openRuntimeDb } from './db.ts';
import { loadVolunteerId } from './identity.ts';
import { newVolunteerId } from './ids.ts';
import { createModuleSource, httpBytes } from './modules.ts';
import { createIdbOutbox, createMemoryOutbox } from './outbox.ts';
import { createPool, type PoolOutcome, type WorkerFactory } from './pool.ts';
import { connectVolunteer } from './socket.ts';
import { systemTimers, type Disposer } from './timers.ts';
import { createVolunteerLoop, type VolunteerStats } from './volunteer-loop.ts';
import { errorMessage } from './error-message.ts';

export type { VolunteerStats } from './volunteer-loop.ts';

export interface RuntimeOptions {
  siteKey: string;
  /** The coordinator's origin (default: the frame's own). */
  origin?: string;
  /** Workers in the pool (default: all cores but one); the policy may run fewer. */
  workers?: number;
  /** Each worker's duty cycle at start (default 0.5). */
  share?: number;
  onError?(error: unknown): void;
  /** The coordinator refused this volunteer (e.g. the site key is unknown); nothing will run. */
  onRefused?(message: string): void;
}

export interface Runtime {
  /** Starts nothing new; running tasks finish. */
  pause(): void;
  /** Terminates running tasks and hands every lease back (a deliberate disconnect) until `resume`. */
  suspend(): void;
  resume(): void;
  configure(settings: { workers: number; share: number }): void;
  /** Terminates the workers and disconnects; the runtime cannot be restarted. */
  stop(): void;
  stats(): VolunteerStats;
  onStats(listener: (stats: VolunteerStats) => void): Disposer;
  /**
   * Runs the host page's own task (an allowed module, by hash) on the next free worker, ahead of
   * grid work; `busy` when no worker took it within `queueMs`. The module is fetched from the
   * coordinator and checked by hash like a leased one.
   */
  runLocal(moduleHash: string, input: Uint8Array, options: { timeoutMs: number; queueMs: number }): Promise<PoolOutcome | 'busy'>;
}

/**
 * Limits of the page's own tasks: the coordinator's defaults for leased tasks (the page's work
 * runs on its own visitor's machine, under the same caps as anybody's).
 */
export const LOCAL_TASK_LIMITS = Object.freeze({ maxMemoryBytes: 256 * 1024 * 1024, maxOutputBytes: 4 * 1024 * 1024 });

/** Each worker is a module Web Worker from the coordinator's origin, wrapped by comlink. */
const browserWorkers: WorkerFactory = () => {
  const worker = new Worker(new URL('../worker/worker.ts', import.meta.url), { type: 'module', name: 'sparecycles-task' });
  return {
    runner: wrap<TaskRunner>(worker),
    terminate: () => worker.terminate(),
    onCrash(listener) {
      worker.addEventListener('error', (event) => listener(event.message || 'worker error'));
    },
  };
};

/** Starts contributing; running at once (call `pause()` or `suspend()` right after for a paused start). */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const origin = options.origin ?? location.origin;
  const onError = options.onError ?? ((error: unknown) => console.warn('sparecycles:', error));
  // IndexedDB may be refused in a third-party frame (browser settings): work on without a cache,
  // as a volunteer whose id and unsent results last for this page view.
  const db = await openRuntimeDb().catch((error: unknown) => {
    onError(error);
    return undefined;
  });
  const volunteerId = db ? await loadVolunteerId(db) : newVolunteerId();
  const modules = createModuleSource({
    fetchBytes: httpBytes(origin),
    compile: compileTask,
    cache: db ? createIdbByteCache(db) : undefined,
    onCacheError: onError,
  });
  await modules.ready;

  const connection = connectVolunteer({ url: origin, auth: { siteKey: options.siteKey, volunteerId, agent: 'browser' } });
  const size = options.workers ?? Math.max(1, (navigator.hardwareConcurrency || 2) - 1);
  const loop = createVolunteerLoop({
    link: connection.link,
    modules,
    pool: createPool({ size, create: browserWorkers }),
    // Durable when it can be: results finished before a reload or a coordinator crash are sent
    // by the next page.
    outbox: db ? createIdbOutbox(db) : createMemoryOutbox(),
    now: Date.now,
    random: Math.random,
    timers: systemTimers,
    share: options.share ?? 0.5,
    onError,
  });
  connection.connected.catch((error: unknown) => {
    onError(error);
    options.onRefused?.(errorMessage(error));
  });
  loop.start();

  return {
    pause: loop.pause,
    suspend: loop.suspend,
    resume: loop.resume,
    configure: loop.configure,
    stop() {
      loop.stop();
      connection.close();
      db?.close();
    },
    stats: loop.stats,
    onStats: loop.onStats,
    async runLocal(moduleHash, input, { timeoutMs, queueMs }) {
      // Suspended (a hard pause) or stopped: not even the module is fetched; the page's task goes elsewhere.
      const state = loop.stats().state;
      if (state === 'suspended' || state === 'stopped') return 'busy';
      let module: WebAssembly.Module;
      try {
        module = await modules.get({ module: { hash: moduleHash, url: `/modules/${moduleHash}.wasm` }, limits: LOCAL_TASK_LIMITS });
      } catch (error) {
        return { ok: false, kind: 'invalid', message: errorMessage(error), ms: 0 };
      }
      const id = `local-${newVolunteerId()}`;
      return loop.runLocal({ id, module, input, limits: LOCAL_TASK_LIMITS, timeoutMs }, queueMs);
    },
  };
}

/**
 * A volunteer in Node: the same lease loop and pool as the browser, over a Socket.IO connection,
 * with module bytes fetched from the coordinator over HTTP and checked by hash. It prefetches one
 * lease per worker and answers the coordinator's `work` hint as the browser does (both live in
 * the shared loop). Its outbox is in memory by default: a crashed agent loses only its unsent
 * reports, whose leases the coordinator takes back at the disconnect and leases again.
 */
import { availableParallelism } from 'node:os';
import { compileTask } from '../../../wasm/host/index.ts';
import { newVolunteerId } from '../runtime/ids.ts';
import { createModuleSource, httpBytes } from '../runtime/modules.ts';
import { createMemoryOutbox, type Outbox } from '../runtime/outbox.ts';
import { createPool } from '../runtime/pool.ts';
import { connectVolunteer } from '../runtime/socket.ts';
import { systemTimers } from '../runtime/timers.ts';
import { createVolunteerLoop, type VolunteerStats } from '../runtime/volunteer-loop.ts';
import { inlineWorkers, threadWorkers } from './workers.ts';

export interface NodeVolunteerOptions {
  /** The coordinator, e.g. `http://127.0.0.1:8080`, or the nodes of a cluster (tried in turn). */
  url: string | readonly string[];
  siteKey: string;
  /** Kept by the caller to stay the same volunteer across runs; random when absent. */
  volunteerId?: string;
  /** Parallel tasks (default: all cores but one). */
  workers?: number;
  /** `threads` (default): one `worker_threads` thread per worker; `inline`: the main thread. */
  execution?: 'threads' | 'inline';
  /** Give up when the first connection takes longer (default 10 s; `Infinity` waits). */
  connectTimeoutMs?: number;
  /** Acknowledgement timeout per event (default 10 s). */
  ackTimeoutMs?: number;
  /** Where unacknowledged reports wait (default: in memory, for the life of the process). */
  outbox?: Outbox;
  onStats?(stats: VolunteerStats): void;
  onError?(error: unknown): void;
}

export interface NodeVolunteer {
  readonly volunteerId: string;
  /** Terminates running tasks, closes the connection and the workers. */
  stop(): Promise<void>;
  stats(): VolunteerStats;
  /** Drops the connection abruptly (as a network failure would) and stays offline; for tests. */
  disconnect(): void;
  /** Connects again after `disconnect()`; unacknowledged results are then sent again. */
  reconnect(): void;
}

/** Starts a volunteer; resolves once connected, rejects when the coordinator refuses or is unreachable. */
export async function startNodeVolunteer(options: NodeVolunteerOptions): Promise<NodeVolunteer> {
  const volunteerId = options.volunteerId ?? newVolunteerId();
  const size = options.workers ?? Math.max(1, availableParallelism() - 1);
  const pool = createPool({ size, create: options.execution === 'inline' ? inlineWorkers : threadWorkers });
  const connection = connectVolunteer({
    url: options.url,
    auth: { siteKey: options.siteKey, volunteerId, agent: 'node' },
    ...(options.ackTimeoutMs === undefined ? {} : { ackTimeoutMs: options.ackTimeoutMs }),
  });
  const loop = createVolunteerLoop({
    link: connection.link,
    // Modules come from the node connected to now (every node serves every module).
    modules: createModuleSource({ fetchBytes: (url) => httpBytes(connection.currentUrl())(url), compile: compileTask }),
    pool,
    outbox: options.outbox ?? createMemoryOutbox(),
    now: Date.now,
    random: Math.random,
    timers: systemTimers,
    ...(options.onError ? { onError: options.onError } : {}),
  });
  if (options.onStats) loop.onStats(options.onStats);

  try {
    await withTimeout(connection.connected, options.connectTimeoutMs ?? 10_000, `cannot reach the coordinator at ${[options.url].flat().join(', ')}`);
  } catch (error) {
    connection.close();
    pool.close();
    throw error;
  }
  loop.start();

  const { socket } = connection;
  return {
    volunteerId,
    async stop() {
      loop.stop();
      connection.close();
    },
    stats: loop.stats,
    disconnect() {
      socket.io.reconnection(false);
      // Closing the transport without Socket.IO's goodbye: the coordinator sees a lost connection.
      socket.io.engine?.close();
    },
    reconnect() {
      socket.io.reconnection(true);
      socket.connect();
    },
  };
}

function withTimeout(promise: Promise<void>, ms: number, message: string): Promise<void> {
  if (!Number.isFinite(ms)) return promise;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${message} (no connection after ${ms} ms)`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

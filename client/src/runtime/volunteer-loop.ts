/**
 * The volunteer's lease loop, platform-neutral: the browser runtime and the Node agent drive it
 * with their own link, module source, pool and outbox.
 *
 * Loop states:
 *   idle ──start──▶ running ──pause──▶ paused ──resume──▶ running
 *   running | paused ──stop──▶ stopped   (workers terminated; nothing more is sent)
 *
 * While running and connected, whenever worker slots are free it asks for that many leases; an
 * empty answer (or a refused or lost request) backs off 0.5–2 s with jitter. Each lease is run,
 * and its result or failure goes to the outbox first and leaves it only once the coordinator has
 * answered for it; on every (re)connect the outbox is sent again. Paused, it asks for nothing but
 * finishes and reports what it already holds. A `revoke` drops the named leases wherever they are.
 */
import type { AckReply, Lease, LeaseReply, LeaseRequest, ResultRequest, FailRequest, RevokeNotice } from '../../../server/src/protocol/events.ts';
import type { ErrorCode } from '../../../server/src/protocol/errors.ts';
import type { ModuleSource } from './modules.ts';
import type { Outbox, OutboxEntry } from './outbox.ts';
import type { Pool, PoolOutcome } from './pool.ts';
import type { Disposer, Timers } from './timers.ts';
import { errorMessage } from './error-message.ts';

/** The coordinator as the loop sees it (a Socket.IO socket in practice). */
export interface CoordinatorLink {
  connected(): boolean;
  lease(request: LeaseRequest): Promise<LeaseReply>;
  result(request: ResultRequest): Promise<AckReply>;
  fail(request: FailRequest): Promise<AckReply>;
  onConnect(listener: () => void): Disposer;
  onRevoke(listener: (notice: RevokeNotice) => void): Disposer;
}

export type LoopState = 'idle' | 'running' | 'paused' | 'stopped';

/** Counters for the control and the agent. */
export interface VolunteerStats {
  state: LoopState;
  /** Results the coordinator accepted. */
  completed: number;
  /** Failures the coordinator recorded. */
  failed: number;
  /** Reports the coordinator no longer wanted (lease stale) or refused. */
  dropped: number;
  /** Leases dropped on the coordinator's `revoke`. */
  revoked: number;
  /** Leases being prepared or run. */
  running: number;
  /** Leases received, waiting for a worker. */
  queued: number;
  /** Finished work not yet acknowledged. */
  unsent: number;
}

export interface VolunteerLoopOptions {
  link: CoordinatorLink;
  modules: ModuleSource;
  pool: Pool;
  outbox: Outbox;
  /** Epoch milliseconds (lease deadlines are epoch ms). */
  now: () => number;
  random: () => number;
  timers: Timers;
  /** Wait after an empty or failed lease request, in ms (default 500–2000). */
  backoff?: { minMs: number; maxMs: number };
  onError?(error: unknown): void;
}

export interface VolunteerLoop {
  start(): void;
  pause(): void;
  resume(): void;
  /** Terminates running work and stops for good. */
  stop(): void;
  stats(): VolunteerStats;
  onStats(listener: (stats: VolunteerStats) => void): Disposer;
}

/** Acknowledgement errors worth sending the same report again for. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['internal', 'rate_limited']);
const MESSAGE_LIMIT = 2000;
const CPU_MS_LIMIT = 86_400_000;

export function createVolunteerLoop(options: VolunteerLoopOptions): VolunteerLoop {
  const { link, modules, pool, outbox, now, random, timers } = options;
  const backoff = options.backoff ?? { minMs: 500, maxMs: 2000 };
  const onError = options.onError ?? (() => {});
  const listeners = new Set<(stats: VolunteerStats) => void>();
  const disposers: Disposer[] = [];

  let state: LoopState = 'idle';
  const counts = { completed: 0, failed: 0, dropped: 0, revoked: 0 };
  const active = new Map<string, Lease>();
  let queue: Lease[] = [];
  const unsent = new Set<string>();
  const sending = new Set<string>();
  let asking = false;
  let backoffTimer: unknown;
  let retryTimer: unknown;

  const stats = (): VolunteerStats => ({
    state,
    ...counts,
    running: active.size,
    queued: queue.length,
    unsent: unsent.size,
  });
  const emit = (): void => {
    const snapshot = stats();
    for (const listener of listeners) listener(snapshot);
  };
  const delay = (): number => backoff.minMs + random() * (backoff.maxMs - backoff.minMs);

  const backOff = (): void => {
    if (backoffTimer !== undefined || state === 'stopped') return;
    backoffTimer = timers.setTimeout(() => {
      backoffTimer = undefined;
      pump();
    }, delay());
  };

  function pump(): void {
    if (state === 'stopped') return;
    while (queue.length > 0 && active.size < pool.size) begin(queue.shift() as Lease);
    if (state !== 'running' || asking || backoffTimer !== undefined || !link.connected()) return;
    const slots = pool.size - active.size - queue.length;
    if (slots < 1) return;
    const cached = modules.cached();
    asking = true;
    link.lease(cached.length > 0 ? { slots, cached } : { slots }).then(
      (reply) => {
        asking = false;
        // Stopping closes the connection, which hands these leases straight back.
        if (state === 'stopped') return;
        if ('error' in reply) {
          onError(new Error(`lease refused: ${reply.error.code}: ${reply.error.message}`));
          backOff();
        } else if (reply.leases.length === 0) {
          backOff();
        } else {
          queue.push(...reply.leases);
          pump();
          emit();
        }
      },
      (error: unknown) => {
        asking = false;
        onError(error);
        backOff();
      },
    );
  }

  function begin(lease: Lease): void {
    active.set(lease.leaseId, lease);
    void execute(lease).then((outcome) => finish(lease, outcome));
  }

  async function execute(lease: Lease): Promise<PoolOutcome> {
    let module: WebAssembly.Module;
    try {
      module = await modules.get(lease);
    } catch (error) {
      return { ok: false, kind: 'invalid', message: errorMessage(error), ms: 0 };
    }
    if (!active.has(lease.leaseId)) return { ok: false, kind: 'cancelled', message: 'revoked', ms: 0 };
    // The deadline comes from the coordinator's clock; when ours disagrees so far that it seems
    // already past, the time limit alone applies and the coordinator decides.
    const remaining = lease.deadline - now();
    const timeoutMs = remaining > 0 ? Math.min(lease.limits.timeMs, remaining) : lease.limits.timeMs;
    const { maxMemoryBytes, maxOutputBytes } = lease.limits;
    try {
      return await pool.run({ id: lease.leaseId, module, input: lease.input, limits: { maxMemoryBytes, maxOutputBytes }, timeoutMs });
    } catch (error) {
      return { ok: false, kind: 'cancelled', message: errorMessage(error), ms: 0 };
    }
  }

  function finish(lease: Lease, outcome: PoolOutcome): void {
    // Not active any more: revoked or stopped while it ran; nobody wants the outcome.
    if (!active.delete(lease.leaseId)) return;
    pump();
    if (outcome.ok) {
      report({ kind: 'result', payload: { leaseId: lease.leaseId, output: outcome.output, cpuMs: cpuMs(outcome.ms) } });
    } else if (outcome.kind === 'cancelled') {
      emit();
    } else {
      report({ kind: 'fail', payload: { leaseId: lease.leaseId, kind: outcome.kind, message: outcome.message.slice(0, MESSAGE_LIMIT) } });
    }
  }

  function report(entry: OutboxEntry): void {
    unsent.add(entry.payload.leaseId);
    emit();
    outbox.put(entry).then(
      () => send(entry),
      (error: unknown) => {
        onError(error);
        send(entry);
      },
    );
  }

  function send(entry: OutboxEntry): void {
    const { leaseId } = entry.payload;
    if (state === 'stopped' || sending.has(leaseId) || !unsent.has(leaseId) || !link.connected()) return;
    sending.add(leaseId);
    const reply = entry.kind === 'result' ? link.result(entry.payload) : link.fail(entry.payload);
    reply.then(
      (ack) => {
        sending.delete(leaseId);
        if (!('error' in ack)) {
          counts[entry.kind === 'result' ? 'completed' : 'failed'] += 1;
          settle(leaseId);
        } else if (RETRYABLE.has(ack.error.code)) {
          retryLater();
        } else {
          // `stale_lease`: the task was taken back or finished elsewhere. Anything else refused
          // this report for good; sending it again cannot change the answer.
          if (ack.error.code !== 'stale_lease') onError(new Error(`${entry.kind} refused: ${ack.error.code}: ${ack.error.message}`));
          counts.dropped += 1;
          settle(leaseId);
        }
        emit();
      },
      (error: unknown) => {
        sending.delete(leaseId);
        onError(error);
        // A lost connection resends on reconnect; a slow coordinator gets another try soon.
        if (link.connected()) retryLater();
      },
    );
  }

  function settle(leaseId: string): void {
    unsent.delete(leaseId);
    outbox.delete(leaseId).catch(onError);
  }

  function retryLater(): void {
    if (retryTimer !== undefined || state === 'stopped') return;
    retryTimer = timers.setTimeout(() => {
      retryTimer = undefined;
      flush();
    }, delay());
  }

  function flush(): void {
    outbox.list().then((entries) => {
      for (const entry of entries) {
        unsent.add(entry.payload.leaseId);
        send(entry);
      }
      emit();
    }, onError);
  }

  function revoke(notice: RevokeNotice): void {
    const ids = new Set(notice.leaseIds);
    const before = queue.length;
    queue = queue.filter((lease) => !ids.has(lease.leaseId));
    counts.revoked += before - queue.length;
    for (const id of ids) {
      if (active.delete(id)) {
        counts.revoked += 1;
        pool.cancel(id);
      }
      if (unsent.has(id)) settle(id);
    }
    pump();
    emit();
  }

  return {
    start() {
      if (state !== 'idle') return;
      state = 'running';
      disposers.push(
        link.onConnect(() => {
          if (backoffTimer !== undefined) timers.clearTimeout(backoffTimer);
          backoffTimer = undefined;
          flush();
          pump();
        }),
        link.onRevoke(revoke),
      );
      flush();
      pump();
      emit();
    },
    pause() {
      if (state !== 'running') return;
      state = 'paused';
      emit();
    },
    resume() {
      if (state !== 'paused') return;
      state = 'running';
      pump();
      emit();
    },
    stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      for (const dispose of disposers.splice(0)) dispose();
      for (const handle of [backoffTimer, retryTimer]) if (handle !== undefined) timers.clearTimeout(handle);
      backoffTimer = retryTimer = undefined;
      queue = [];
      active.clear();
      pool.close();
      emit();
    },
    stats,
    onStats(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function cpuMs(ms: number): number {
  return Math.min(CPU_MS_LIMIT, Math.max(0, Math.round(ms)));
}

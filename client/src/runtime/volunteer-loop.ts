/**
 * The volunteer's lease loop, platform-neutral: the browser runtime and the Node agent drive it
 * with their own link, module source, pool and outbox.
 *
 * Loop states:
 *   idle ──start──▶ running ──pause──▶ paused ──resume──▶ running
 *   running | paused ──stop──▶ stopped   (workers terminated; nothing more is sent)
 *
 * Asking: while running and connected, it keeps `workers × (1 + PREFETCH)` leases in hand: one
 * running and one queued per worker, so a worker that finishes starts its next task without
 * waiting for a round trip. It announces `workers: pool.size` and asks for what both sides have
 * room for: free workers and queue places here, and the coordinator's bound of
 * `workers × (1 + PREFETCH)` minus the leases it still counts as this session's (`held`: running,
 * queued, or finished with the report not yet answered). A lease leaving `held` asks for its
 * successor at once. At most one request is in flight. An empty answer with `retryAfterMs` (a
 * cool-down after a strike) waits that long; any other empty answer (or a refused or lost
 * request) backs off 0.5–2 s with jitter; the coordinator's `work` hint cancels the back-off and asks at once (a hint that arrives
 * while a request is in flight makes an empty answer ask again instead of backing off).
 *
 * Queued leases: a queued lease whose deadline passes before a worker takes it is dropped quietly
 * (the coordinator has taken it back already), but only when our clock agreed that its deadline
 * was still ahead when it arrived; with a clock too far off to tell, the lease runs under its
 * time limit and the coordinator decides, as for a running lease.
 *
 * Reporting: each result or failure goes to the outbox first and leaves it only once the
 * coordinator has answered for it (accepted, stale or refused for good); a lost connection keeps
 * it. On start and on every (re)connect the whole outbox is sent, including entries a previous
 * page or process left in a durable outbox. Paused, it asks for nothing but finishes and reports
 * what it already holds. A `revoke` drops the named leases wherever they are.
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
  /** The coordinator's hint that work became available since it last had none for us. */
  onWork(listener: () => void): Disposer;
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
  /** Queued leases dropped because their deadline passed before a worker took them. */
  expired: number;
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

/** Queued leases per worker, beyond the one it runs (matches the coordinator's bound). */
export const PREFETCH = 1;

/** The protocol's bounds on one lease request. */
const MAX_SLOTS = 128;
/** The longest wait a coordinator's `retryAfterMs` can impose (its cool-down is at most 60 s). */
const MAX_RETRY_AFTER_MS = 60_000;
const MAX_WORKERS = 64;

/** What the loop holds when it considers asking. */
export interface Holding {
  /** Workers in the pool. */
  workers: number;
  /** Leases being prepared or run. */
  active: number;
  /** Leases waiting for a worker. */
  queued: number;
  /**
   * Leases of the current connection the coordinator still counts as this session's: running,
   * queued, or finished with the report not yet answered.
   */
  held: number;
  cached: string[];
}

/**
 * The lease request for the loop's holdings, or `undefined` when it holds enough: pure, so the
 * numbers can be checked without a socket. Slots are what both sides have room for: free workers
 * plus free queue places here, and the coordinator's `workers × (1 + PREFETCH) − held`. Asking
 * past the coordinator's bound would only earn an empty answer and a back-off.
 */
export function leaseRequestFor(holding: Holding): LeaseRequest | undefined {
  const workers = Math.min(MAX_WORKERS, holding.workers);
  const room = holding.workers * (1 + PREFETCH) - holding.active - holding.queued;
  const grantable = workers * (1 + PREFETCH) - holding.held;
  const slots = Math.min(MAX_SLOTS, room, grantable);
  if (slots < 1) return undefined;
  return holding.cached.length > 0 ? { slots, workers, cached: holding.cached } : { slots, workers };
}

/** A lease waiting for a worker. */
interface Queued {
  lease: Lease;
  /** Our clock put the deadline ahead on arrival, so a passed deadline here means it expired. */
  expires: boolean;
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
  const counts = { completed: 0, failed: 0, dropped: 0, revoked: 0, expired: 0 };
  const active = new Map<string, Lease>();
  let queue: Queued[] = [];
  // Leases granted on the current connection and not yet answered for: the coordinator's count.
  const held = new Set<string>();
  // Reports not yet answered for, kept in memory too: an outbox that failed to store or to list
  // one must not lose it (nor leave it counted as held for the rest of the connection).
  const unsent = new Map<string, OutboxEntry>();
  const sending = new Set<string>();
  // Reports settled while an outbox listing is in flight: that listing may still hold them.
  const settledWhileListing = new Set<string>();
  let listing = 0;
  let asking = false;
  let woken = false;
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

  /** Waits `ms` (default: the jittered back-off) before asking again. */
  const backOff = (ms: number = delay()): void => {
    if (backoffTimer !== undefined || state === 'stopped') return;
    backoffTimer = timers.setTimeout(() => {
      backoffTimer = undefined;
      pump();
    }, ms);
  };

  function pump(): void {
    if (state === 'stopped') return;
    dropExpired();
    while (queue.length > 0 && active.size < pool.size) begin((queue.shift() as Queued).lease);
    if (state !== 'running' || asking || backoffTimer !== undefined || !link.connected()) return;
    const request = leaseRequestFor({
      workers: pool.size,
      active: active.size,
      queued: queue.length,
      held: held.size,
      cached: modules.cached(),
    });
    if (!request) return;
    asking = true;
    woken = false;
    link.lease(request).then(
      (reply) => {
        asking = false;
        // Stopping closes the connection, which hands these leases straight back.
        if (state === 'stopped') return;
        if ('error' in reply) {
          onError(new Error(`lease refused: ${reply.error.code}: ${reply.error.message}`));
          backOff();
        } else if (reply.leases.length === 0) {
          // Cooling down after a strike: the coordinator says when to ask again.
          if (reply.retryAfterMs !== undefined && reply.retryAfterMs > 0) backOff(Math.min(reply.retryAfterMs, MAX_RETRY_AFTER_MS));
          // A `work` hint that crossed this request announces work its answer did not see.
          else if (woken) pump();
          else backOff();
        } else {
          const at = now();
          for (const lease of reply.leases) held.add(lease.leaseId);
          queue.push(...reply.leases.map((lease) => ({ lease, expires: lease.deadline > at })));
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

  function dropExpired(): void {
    const at = now();
    const before = queue.length;
    queue = queue.filter(({ lease, expires }) => {
      if (!expires || lease.deadline > at) return true;
      unhold(lease.leaseId);
      return false;
    });
    if (queue.length === before) return;
    counts.expired += before - queue.length;
    emit();
  }

  function wake(): void {
    if (state !== 'running') return;
    if (asking) {
      woken = true;
      return;
    }
    if (backoffTimer !== undefined) timers.clearTimeout(backoffTimer);
    backoffTimer = undefined;
    pump();
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
      unhold(lease.leaseId);
      emit();
    } else {
      report({ kind: 'fail', payload: { leaseId: lease.leaseId, kind: outcome.kind, message: outcome.message.slice(0, MESSAGE_LIMIT) } });
    }
  }

  function report(entry: OutboxEntry): void {
    unsent.set(entry.payload.leaseId, entry);
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

  /**
   * A lease the coordinator no longer counts as this session's (answered, revoked, expired): ask
   * for its successor now, since an empty answer (and its back-off) may have come from that
   * count, not from a lack of work.
   */
  function unhold(leaseId: string): void {
    if (!held.delete(leaseId) || state !== 'running') return;
    if (backoffTimer !== undefined) timers.clearTimeout(backoffTimer);
    backoffTimer = undefined;
    queueMicrotask(pump);
  }

  function settle(leaseId: string): void {
    unsent.delete(leaseId);
    unhold(leaseId);
    if (listing > 0) settledWhileListing.add(leaseId);
    outbox.delete(leaseId).catch(onError);
  }

  function retryLater(): void {
    if (retryTimer !== undefined || state === 'stopped') return;
    retryTimer = timers.setTimeout(() => {
      retryTimer = undefined;
      flush();
    }, delay());
  }

  /**
   * Sends every unanswered report: this run's (from memory, whatever the outbox managed to keep)
   * and any a previous page or process left in the outbox.
   */
  function flush(): void {
    listing += 1;
    outbox
      .list()
      .then((entries) => {
        for (const entry of entries) {
          const { leaseId } = entry.payload;
          // Entries from before this run are unsent too, though this loop never ran them.
          if (!settledWhileListing.has(leaseId) && !unsent.has(leaseId)) unsent.set(leaseId, entry);
        }
      }, onError)
      .finally(() => {
        listing -= 1;
        if (listing === 0) settledWhileListing.clear();
        for (const entry of unsent.values()) send(entry);
        emit();
      });
  }

  function revoke(notice: RevokeNotice): void {
    const ids = new Set(notice.leaseIds);
    const before = queue.length;
    queue = queue.filter(({ lease }) => !ids.has(lease.leaseId));
    counts.revoked += before - queue.length;
    for (const id of ids) {
      unhold(id);
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
          // A new session. A coordinator that stayed up released the last session's leases; one
          // that restarted lets this session adopt them, and counts them again. Counting what is
          // still in hand (running, queued, unanswered) may ask too little for a moment, until
          // each is answered; asking too much would earn an empty answer and a back-off.
          held.clear();
          for (const id of active.keys()) held.add(id);
          for (const { lease } of queue) held.add(lease.leaseId);
          for (const id of unsent.keys()) held.add(id);
          if (backoffTimer !== undefined) timers.clearTimeout(backoffTimer);
          backoffTimer = undefined;
          flush();
          pump();
        }),
        link.onRevoke(revoke),
        link.onWork(wake),
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
      held.clear();
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

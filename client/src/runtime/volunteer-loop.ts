/**
 * The volunteer's lease loop, platform-neutral: the browser runtime and the Node agent drive it
 * with their own link, module source, pool and outbox.
 *
 * Loop states:
 *   idle ──start──▶ running ──pause──▶ paused ──resume──▶ running
 *   running | paused ──suspend──▶ suspended ──resume──▶ running
 *   any ──stop──▶ stopped   (workers terminated; nothing more is sent)
 *
 * - running: asks for leases and starts them, on at most `workers` workers, each resting after
 *   every task as its duty cycle (`share`) says (duty-cycle.ts).
 * - paused: asks for nothing and starts nothing new; running tasks finish and are reported.
 * - suspended: running tasks are terminated and queued ones dropped, and the connection is closed
 *   on purpose so the coordinator takes every lease back at once (not at its deadline, which would
 *   count against this volunteer). Unsent reports stay in the outbox for the next connection.
 *
 * Asking: while running and connected, it keeps `workers × (1 + PREFETCH)` leases in hand, within
 * the coordinator's bound (lease-request.ts); a lease leaving the coordinator's count of this
 * session's leases asks for its successor at once. One request at a time, with back-off, cool-down
 * and `work` hints: lease-pump.ts.
 *
 * Queued leases: one whose deadline passes before a worker takes it is dropped quietly (the
 * coordinator has taken it back already), but only when our clock agreed that its deadline was
 * still ahead when it arrived; with a clock too far off to tell, the lease runs under its time
 * limit and the coordinator decides. A `revoke` drops the named leases wherever they are.
 *
 * Reconnecting: the coordinator either took the old connection's leases back when it ended, or
 * (restarted, or another node after ours died) let the new connection adopt them. Its `adopted`
 * notice names the adopted ones; any other lease still running or queued is dropped, so the
 * visitor's CPU does not go on working for an answer nobody will take.
 *
 * Reporting (reports.ts): on start and on every (re)connect the whole outbox is sent. A tiny
 * task's result waits (at most `LINGER_MS`) for the leases still in hand, so they go in one event
 * and the leases they free are asked for in one request (report-hold.ts).
 *
 * Local tasks (`runLocal`, the host page's own `run()`): they wait in their own queue, and a
 * free worker takes them before any queued lease, within the same worker count but not waiting
 * out a rest (the duty cycle bounds grid work; a rest still follows the page's task),
 * also while paused (a pause holds grid work; the page asked for this task itself).
 * One still waiting after its `queueMs` (the pool busy, paused or resting) answers `busy`, for its
 * caller to run it elsewhere; suspending or stopping cancels the ones running.
 */
import type { AdoptedNotice, Lease, LeaseJob, RevokeNotice } from '../../../server/src/protocol/events.ts';
import type { CoordinatorLink } from './coordinator-link.ts';
import { freeWorkers, nextRestEnd, NO_RESTS, prune, startRest, type Rests } from './duty-cycle.ts';
import { errorMessage } from './error-message.ts';
import { leaseRequestFor } from './lease-request.ts';
import { createLeasePump } from './lease-pump.ts';
import type { ModuleSource } from './modules.ts';
import type { Outbox } from './outbox.ts';
import type { Pool, PoolOutcome, PoolTask } from './pool.ts';
import { createReports } from './reports.ts';
import { ANSWER_WAIT_MAX_MS, holdResult, LINGER_MS, waitForAnswers } from './report-hold.ts';
import { createLeaseHand } from './lease-hand.ts';
import { createLocalTasks } from './local-tasks.ts';
import type { Disposer, Timers } from './timers.ts';

export { leaseRequestFor, PREFETCH, type Holding } from './lease-request.ts';
export type { CoordinatorLink } from './coordinator-link.ts';

export type LoopState = 'idle' | 'running' | 'paused' | 'suspended' | 'stopped';

export type { LeaseJob } from '../../../server/src/protocol/events.ts';

/** What a lease says about its job, for the visitor to see (absent from older coordinators). */
const jobOf = (lease: Lease): LeaseJob | undefined => (lease as Partial<Lease>).job;

/** Counters for the control and the agent. */
export interface VolunteerStats {
  state: LoopState;
  /** Results the coordinator accepted. */
  completed: number;
  /** Worker milliseconds of the accepted results. */
  cpuMs: number;
  /** Failures the coordinator recorded. */
  failed: number;
  /** Reports the coordinator no longer wanted (lease stale) or refused. */
  dropped: number;
  /** Leases dropped on the coordinator's `revoke`, or carried over a reconnection and not adopted. */
  revoked: number;
  /** Queued leases dropped because their deadline passed before a worker took them. */
  expired: number;
  /** Leases being prepared or run. */
  running: number;
  /** Workers resting after a task (the duty cycle). */
  resting: number;
  /** Leases received, waiting for a worker. */
  queued: number;
  /** Finished work not yet acknowledged. */
  unsent: number;
  /** Workers allowed to run, and their duty cycle. */
  workers: number;
  share: number;
  /** The jobs of the leases in hand, running or queued (distinct), as their leases describe them. */
  jobs: LeaseJob[];
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
  /** Workers allowed to run (default: the pool's size) and their duty cycle (default 1: no rest). */
  workers?: number;
  share?: number;
  onError?(error: unknown): void;
}

export interface VolunteerLoop {
  start(): void;
  pause(): void;
  /** Terminates running work, hands every lease back and disconnects until `resume`. */
  suspend(): void;
  resume(): void;
  /** Sets how many workers may run (at most the pool's size) and their duty cycle. */
  configure(settings: { workers: number; share: number }): void;
  /** Terminates running work and stops for good. */
  stop(): void;
  stats(): VolunteerStats;
  onStats(listener: (stats: VolunteerStats) => void): Disposer;
  /**
   * Runs a task of the host page's own on the next free worker, ahead of queued leases; `busy`
   * when no worker took it within `queueMs`.
   */
  runLocal(task: PoolTask, queueMs: number): Promise<PoolOutcome | 'busy'>;
}

const MESSAGE_LIMIT = 2000;
const CPU_MS_LIMIT = 86_400_000;

export function createVolunteerLoop(options: VolunteerLoopOptions): VolunteerLoop {
  const { link, modules, pool, outbox, now, random, timers } = options;
  const backoff = options.backoff ?? { minMs: 500, maxMs: 2000 };
  const onError = options.onError ?? (() => {});
  const listeners = new Set<(stats: VolunteerStats) => void>();
  const disposers: Disposer[] = [];

  let state: LoopState = 'idle';
  let workers = clampWorkers(options.workers ?? pool.size);
  let share = clampShare(options.share ?? 1);
  let rests: Rests = NO_RESTS;
  const counts = { completed: 0, cpuMs: 0, failed: 0, dropped: 0, revoked: 0, expired: 0 };
  const hand = createLeaseHand();
  let restTimer: unknown;
  let restTimerAt = Infinity;
  // How long the last lease's task ran: tiny tasks' reports and requests are batched (report-hold.ts).
  let lastTaskMs = Infinity;
  const locals = createLocalTasks({
    pool,
    timers,
    onFinished(outcome) {
      rests = startRest(rests, outcome.ms, share, now());
      step();
      emit();
    },
  });

  const delay = (): number => backoff.minMs + random() * (backoff.maxMs - backoff.minMs);
  const reports = createReports({
    link,
    outbox,
    timers,
    retryDelay: delay,
    onError,
    onSettled(entry, verdict) {
      if (verdict === 'completed') {
        counts.completed += 1;
        if (entry.kind === 'result') counts.cpuMs += entry.payload.cpuMs;
      } else if (verdict !== 'withdrawn') counts[verdict] += 1;
      unhold(entry.payload.leaseId);
      emit();
    },
    onChange: () => emit(),
    // A tiny task's result waits for the leases still in hand, to go with theirs.
    hold: (entry) => state === 'running' && entry.kind === 'result' && holdResult(entry.payload.cpuMs, hand.running() + hand.queued()),
    lingerMs: LINGER_MS,
    onQuiet: () => step(),
  });

  function clampWorkers(count: number): number {
    return Math.max(1, Math.min(pool.size, Math.floor(count) || 1));
  }
  function clampShare(value: number): number {
    return Number.isFinite(value) ? Math.min(1, Math.max(0.01, value)) : 1;
  }

  function stats(): VolunteerStats {
    const at = now();
    const jobs = new Map<string, LeaseJob>();
    for (const lease of hand.leases()) {
      const job = jobOf(lease);
      if (job) jobs.set(job.id, job);
    }
    return {
      state,
      ...counts,
      running: hand.running() + locals.running(),
      resting: rests.until.filter((end) => end > at).length,
      queued: hand.queued(),
      unsent: reports.pending().length,
      workers,
      share,
      jobs: [...jobs.values()],
    };
  }
  function emit(): void {
    // Several times per task: no snapshot when nobody listens.
    if (listeners.size === 0) return;
    const snapshot = stats();
    for (const listener of listeners) listener(snapshot);
  }

  const pump = createLeasePump({
    lease: (request) => link.lease(request),
    timers,
    backoffMs: delay,
    // After tiny tasks, the answers awaited will free leases: the request waits for them and asks
    // for those too, one request instead of one per answer (at most a round trip's wait).
    mayAsk: () => state === 'running' && link.connected() && !waitingForAnswers(),
    want: () => leaseRequestFor({ workers, active: hand.running(), queued: hand.queued(), held: hand.held(), cached: modules.cached() }),
    onLeases(leases) {
      if (state === 'stopped') return;
      hand.receive(leases, now());
      step();
      emit();
    },
    onError,
  });

  /**
   * Whether the lease request waits for awaited answers (see `waitForAnswers`), for at most
   * `ANSWER_WAIT_MAX_MS`: an acknowledgement that is slow or lost (a busy or dying coordinator)
   * must not leave the workers idle until it times out. The pump is asked again when the wait ends.
   */
  let answersAwaitedSince: number | undefined;
  let answerWaitTimer: unknown;
  function waitingForAnswers(): boolean {
    if (!waitForAnswers(lastTaskMs, reports.awaiting())) {
      answersAwaitedSince = undefined;
      return false;
    }
    const at = now();
    answersAwaitedSince ??= at;
    const left = answersAwaitedSince + ANSWER_WAIT_MAX_MS - at;
    if (left <= 0) return false;
    if (answerWaitTimer === undefined) {
      answerWaitTimer = timers.setTimeout(() => {
        answerWaitTimer = undefined;
        if (state === 'running') pump.ask();
      }, left);
    }
    return true;
  }

  /** Whether a worker may start a lease now: within the workers allowed, and not resting. */
  const workerFree = (at: number): boolean => {
    const busy = hand.running() + locals.running();
    return busy < pool.size && freeWorkers(workers, busy, rests, at) > 0;
  };
  /**
   * Whether a worker may take the page's own task: within the workers allowed, rests or not. The
   * duty cycle keeps grid work from crowding the visitor's machine; the page's own work is the
   * page's, which would otherwise run it on the visitor's machine all the same.
   */
  const workerFreeForPage = (): boolean => {
    const busy = hand.running() + locals.running();
    return busy < pool.size && busy < workers;
  };

  function startQueued(): void {
    if (state !== 'running' && state !== 'paused') return;
    const at = now();
    rests = prune(rests, at);
    // The page's own tasks first: they are why the visitor is on the page. A soft pause (the page
    // busy or in use) holds grid work only: the page asked for this one itself.
    while (locals.waiting() > 0 && workerFreeForPage()) {
      locals.startNext();
      emit();
    }
    if (state !== 'running') return;
    while (hand.queued() > 0 && workerFree(at)) {
      const lease = hand.startNext()!;
      void execute(lease).then((outcome) => finish(lease, outcome));
    }
    // Work waits for a rest to end: look again then.
    const restEnd = hand.queued() > 0 ? nextRestEnd(rests, at) : undefined;
    // A shorter rest that ends before the one waited for moves the wake-up earlier.
    if (restEnd !== undefined && (restTimer === undefined || restEnd < restTimerAt)) {
      if (restTimer !== undefined) timers.clearTimeout(restTimer);
      restTimerAt = restEnd;
      restTimer = timers.setTimeout(() => {
        restTimer = undefined;
        step();
        emit();
      }, restEnd - at);
    }
  }

  /** Drops expired queued leases, starts what may start, and asks for what is missing. */
  function step(): void {
    if (state === 'stopped') return;
    dropExpired();
    startQueued();
    pump.ask();
  }

  function dropExpired(): void {
    const expired = hand.dropExpired(now());
    if (expired.length === 0) return;
    for (const id of expired) unhold(id);
    counts.expired += expired.length;
    emit();
  }

  function wake(): void {
    if (state === 'running') pump.wake();
  }

  async function execute(lease: Lease): Promise<PoolOutcome> {
    let module: WebAssembly.Module;
    try {
      module = await modules.get(lease);
    } catch (error) {
      return { ok: false, kind: 'invalid', message: errorMessage(error), ms: 0 };
    }
    if (!hand.isRunning(lease.leaseId)) return { ok: false, kind: 'cancelled', message: 'revoked', ms: 0 };
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
    // Not active any more: revoked, suspended or stopped while it ran; nobody wants the outcome.
    if (!hand.stopRunning(lease.leaseId)) return;
    lastTaskMs = outcome.ms;
    rests = startRest(rests, outcome.ms, share, now());
    step();
    if (outcome.ok) {
      reports.add({ kind: 'result', payload: { leaseId: lease.leaseId, output: outcome.output, cpuMs: cpuMs(outcome.ms) } });
    } else if (outcome.kind === 'cancelled') {
      unhold(lease.leaseId);
      emit();
    } else {
      reports.add({ kind: 'fail', payload: { leaseId: lease.leaseId, kind: outcome.kind, message: outcome.message.slice(0, MESSAGE_LIMIT) } });
    }
  }

  /**
   * A lease the coordinator no longer counts as this session's (answered, revoked, expired): ask
   * for its successor now, since an empty answer (and its back-off) may have come from that
   * count, not from a lack of work.
   */
  function unhold(leaseId: string): void {
    if (!hand.unhold(leaseId) || state !== 'running') return;
    pump.cancelWait();
    queueMicrotask(step);
  }

  /** The coordinator took these leases back: drop them wherever they are, reports included. */
  function revoke(notice: RevokeNotice): void {
    drop(notice.leaseIds);
    for (const id of new Set(notice.leaseIds)) {
      unhold(id);
      reports.withdraw(id);
    }
    step();
    emit();
  }

  /**
   * Drops what was carried over from an earlier connection, not adopted by this one, and still
   * running or queued. One that finished meanwhile keeps its report: it is sent and answered.
   */
  function adopted(notice: AdoptedNotice): void {
    for (const id of drop(hand.notAdopted(notice.leaseIds))) unhold(id);
    step();
    emit();
  }

  /** Takes leases out of the queue and the workers (terminating their work); returns which. */
  function drop(leaseIds: readonly string[]): string[] {
    const { queued, running } = hand.take(leaseIds);
    counts.revoked += queued.length + running.length;
    for (const id of running) pool.cancel(id);
    return [...queued, ...running];
  }

  /** Terminates running work and forgets queued leases (their coordinator takes them back). */
  function dropWork(): void {
    for (const id of hand.clear()) pool.cancel(id);
  }

  function clearTimers(): void {
    pump.reset();
    if (restTimer !== undefined) timers.clearTimeout(restTimer);
    restTimer = undefined;
    if (answerWaitTimer !== undefined) timers.clearTimeout(answerWaitTimer);
    answerWaitTimer = undefined;
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
          hand.reconnected(reports.pending());
          pump.cancelWait();
          reports.flush();
          step();
        }),
        link.onRevoke(revoke),
        link.onAdopted(adopted),
        link.onWork(wake),
      );
      // Named at each reconnection: the coordinator adopts these and releases what we lost.
      link.setHolding(() => [...hand.leases().map((lease) => lease.leaseId), ...reports.pending()]);
      reports.flush();
      step();
      emit();
    },
    pause() {
      if (state !== 'running') return;
      state = 'paused';
      emit();
    },
    suspend() {
      if (state !== 'running' && state !== 'paused') return;
      state = 'suspended';
      clearTimers();
      dropWork();
      locals.drop();
      link.disconnect?.();
      emit();
    },
    resume() {
      if (state !== 'paused' && state !== 'suspended') return;
      const wasSuspended = state === 'suspended';
      state = 'running';
      if (wasSuspended) link.connect?.();
      step();
      emit();
    },
    configure(settings) {
      workers = clampWorkers(settings.workers);
      share = clampShare(settings.share);
      step();
      emit();
    },
    stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      for (const dispose of disposers.splice(0)) dispose();
      clearTimers();
      reports.stop();
      locals.drop();
      hand.clear();
      pool.close();
      emit();
    },
    stats,
    onStats(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    runLocal(task, queueMs) {
      if (state === 'stopped' || state === 'suspended') return Promise.resolve('busy');
      const outcome = locals.add(task, queueMs);
      startQueued();
      return outcome;
    },
  };
}

function cpuMs(ms: number): number {
  return Math.min(CPU_MS_LIMIT, Math.max(0, Math.round(ms)));
}

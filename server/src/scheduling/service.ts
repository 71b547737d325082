/**
 * The scheduling service the socket layer calls: it turns volunteer events into store verbs,
 * store leases into wire leases, and leases taken back into `revoke` notices; it wakes idle
 * volunteers when work appears, and after a restart it gives the connections that died with the
 * previous process a grace period to come back for their leases.
 *
 * Lease lifecycle, as a volunteer sees it:
 *
 *   connect          ──▶ the volunteer's live leases from a dead connection move to this one, and
 *                        it is told which (`adopted`): it drops any other it still runs
 *   lease { slots }  ──▶ up to min(slots, maxLeasesPerRequest) leases within its quota and
 *                        prefetch bound, shared fairly among jobs; none → the session is idle
 *   result           ──▶ accepted | duplicate (a repeat, counted once) | stale (fenced: the lease
 *                        was expired, released, revoked or is another volunteer's); a settled
 *                        task's other replicas are revoked
 *   fail             ──▶ recorded | duplicate | stale; the task is retried until maxAttempts
 *   disconnect       ──▶ the session's leases are released at once (not counted as attempts, except
 *                        the second distinct volunteer in a row vanishing with a task without a
 *                        goodbye: a `crash`)
 *   deadline + grace ──▶ the sweep expires the lease (a counted `timeout`) and sends `revoke`
 *   cancel(job)      ──▶ every live lease of the job is revoked and `revoke` sent
 *   work appears     ──▶ idle sessions get `work` and ask again at once
 *
 * Decisions are the pure functions of `scheduler/` (`leases.ts`, `fair-share.ts`, `quorum.ts` and
 * `reputation.ts`), applied by the store inside its transactions.
 */
import { CodedError } from '../protocol/errors.ts';
import type { FailRequest, LeaseGrant, LeaseRequest, ResultRequest } from '../protocol/events.ts';
import type { AnswerEffects, CompleteOutcome, EndedLease, FailOutcome, ReleaseCause, Store } from '../store/index.ts';
import {
  DEFAULT_GRACE_MS,
  DEFAULT_RESUME_GRACE_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  MAX_LEASES_PER_REQUEST,
  expiryCutoff,
  grantCount,
  revocationsBySession,
  toWireLease,
} from '../scheduler/leases.ts';

/** Who is asking: the volunteer, its connection, and the site it volunteers through. */
export interface VolunteerRef {
  volunteerId: string;
  sessionId: string;
  siteKey: string;
  /** The connection's normalised address (`socket/address.ts`): a task's failures are told apart by it. */
  address?: string | undefined;
}

/** The service behind the `/volunteer` namespace. */
export interface Scheduler {
  /**
   * A connection was admitted: it adopts its volunteer's leases left by a dead connection, and
   * returns their ids (the volunteer drops any other lease it still holds from before).
   * `replaces`: a session of this volunteer that still seems up but is known to be dead (the
   * volunteer's previous connection, which it named); its leases are adopted too. `holding`: the
   * leases the volunteer says it still has; any other it would adopt is released (uncounted).
   */
  connect(v: VolunteerRef, replaces?: string, holding?: readonly string[]): Promise<string[]>;
  /**
   * Leases work for the volunteer's free slots (possibly none; with `retryAfterMs` when it is
   * cooling down after a strike).
   */
  lease(v: VolunteerRef, req: LeaseRequest): Promise<LeaseGrant>;
  /** Records a result; throws `payload_too_large` when the output exceeds `limits.maxOutputBytes`. */
  result(v: VolunteerRef, req: ResultRequest): Promise<CompleteOutcome>;
  /** Records a failed attempt reported by the volunteer. */
  fail(v: VolunteerRef, req: FailRequest): Promise<FailOutcome>;
  /**
   * The connection closed: its leases go back to the queue at once. `cause` (default `vanished`)
   * says whether it dropped without a goodbye, which may count as a `crash` of a task.
   */
  disconnect(sessionId: string, cause?: ReleaseCause): Promise<void>;
  /** Cancels a job and revokes its live leases; false when there is no such job. */
  cancel(jobId: string): Promise<boolean>;
  /** New work exists (a job was created): idle volunteers are told to ask. */
  workAdded(jobId: string): void;
  /** Another node saw work appear: this node's idle volunteers are told to ask (nothing is relayed). */
  wakeIdle(): void;
  /**
   * Releases the leases of sessions whose node died (not counted against anyone): their tasks go
   * back to the queue, and idle volunteers are woken.
   */
  releaseSessions(sessionIds: readonly string[]): Promise<void>;
  /** Volunteer connections of this process that are up now. */
  sessionsOnline(): number;
  /** Expires overdue leases now, and releases leases of connections that never came back. */
  sweep(): Promise<void>;
  /** Starts the periodic sweep (idempotent; the timer does not keep the process alive). */
  start(): void;
  /** Stops the periodic sweep and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/** Sessions of a dead node released at once (each a transaction of its own). */
const RELEASES_AT_ONCE = 4;

/** What the scheduler needs from the rest of the coordinator. */
export interface SchedulerDeps {
  store: Store;
  now: () => number;
  /** Makes fresh, unguessable lease ids. */
  newId: () => string;
  /** Uniform draws in [0, 1) for adaptive replication's spot checks. */
  random?: () => number;
  limits: { maxMemoryBytes: number; maxOutputBytes: number };
  /** Where volunteers fetch a module, e.g. `/modules/${hash}.wasm`. */
  moduleUrl: (hash: string) => string;
  /** Tells one connection to drop leases (the socket layer emits `revoke`). */
  revoke: (sessionId: string, leaseIds: string[]) => void;
  /** Tells idle connections that work appeared (the socket layer emits `work`). */
  wake?: (sessionIds: string[]) => void;
  /** A lease expires at deadline + grace (default 2000 ms). */
  graceMs?: number;
  /**
   * After `start()`, how long leases held by connections of a previous process wait for their
   * volunteer to reconnect and adopt them before they are released (default 10 s).
   */
  resumeGraceMs?: number;
  /** Default 250 ms. */
  sweepIntervalMs?: number;
  /** Most leases per request (default 8). */
  maxLeasesPerRequest?: number;
  /** Something changed for a job (progress pushes). */
  onChange?: (event: { jobId: string }) => void;
  /**
   * A task of the job may have settled (a result accepted, a failure or an expiry recorded) or the
   * job ended (cancelled): result streams that follow the job read on. Not called for claims.
   */
  onSettled?: (jobId: string) => void;
  /** Errors of the background sweep and of callbacks, which have no caller to throw to. */
  onError?: (error: unknown) => void;
  /**
   * Of the sessions holding leases when `start()` runs, those that belong to no live process (in a
   * cluster, other live nodes' sessions are not orphans). Default: all of them.
   */
  orphansAmong?: (sessionIds: string[]) => Promise<string[]>;
  /** Work appeared or came back on this node (other nodes' idle volunteers may want it). */
  onWork?: () => void;
}

/** Builds the scheduler; call `start()` to begin sweeping. */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { store, now, limits } = deps;
  const random = deps.random ?? Math.random;
  const graceMs = deps.graceMs ?? DEFAULT_GRACE_MS;
  const resumeGraceMs = deps.resumeGraceMs ?? DEFAULT_RESUME_GRACE_MS;
  const sweepIntervalMs = deps.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  const maxPerRequest = deps.maxLeasesPerRequest ?? MAX_LEASES_PER_REQUEST;
  const onError = deps.onError ?? ((error: unknown) => console.error('sparecycles scheduler:', error));

  /** Connections of this process, by volunteer (one volunteer may have several tabs). */
  const sessionsOf = new Map<string, Set<string>>();
  /** The volunteer of each connection that is up (a disconnect finds its entry above without a scan). */
  const connected = new Map<string, string>();
  /** Sessions whose last lease request found nothing: they wait for `work`. */
  const idle = new Set<string>();
  /** Connections of a previous process that held leases, and when their grace ends. */
  let orphans: { sessions: string[]; deferred: string[]; releaseAt: number } | undefined;
  let orphansLoaded: Promise<void> | undefined;
  let timer: ReturnType<typeof setInterval> | undefined;
  let sweepChain: Promise<void> = Promise.resolve();
  let sweepsQueued = 0;

  function guarded(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      onError(error);
    }
  }

  function settled(jobIds: Iterable<string | undefined>): void {
    if (!deps.onSettled) return;
    for (const jobId of new Set(jobIds)) if (jobId !== undefined) guarded(() => deps.onSettled!(jobId));
  }

  function changed(jobIds: Iterable<string | undefined>): void {
    if (!deps.onChange) return;
    for (const jobId of new Set(jobIds)) if (jobId !== undefined) guarded(() => deps.onChange!({ jobId }));
  }

  function sendRevocations(ended: readonly EndedLease[]): void {
    for (const [sessionId, leaseIds] of revocationsBySession(ended)) guarded(() => deps.revoke(sessionId, leaseIds));
  }

  function wakeIdle(): void {
    if (deps.onWork) guarded(deps.onWork);
    wakeLocal();
  }

  function wakeLocal(): void {
    if (idle.size === 0 || !deps.wake) return;
    const sessions = [...idle];
    idle.clear();
    guarded(() => deps.wake!(sessions));
  }

  /** Reports what answering a lease did: revocations, progress, and reopened work. */
  function applyEffects<O>(effects: AnswerEffects<O>, tookEffect: boolean): O {
    sendRevocations(effects.revoked);
    if (tookEffect) {
      changed([effects.jobId]);
      settled([effects.jobId]);
    }
    if (effects.reopened) wakeIdle();
    return effects.outcome;
  }

  /**
   * Leases taken back without an answer (released or expired, and replicas revoked because that
   * failed their task): their holders are told, and their tasks may be open again. Telling a
   * connection that is gone is a no-op.
   */
  function tookBack(ended: readonly EndedLease[]): void {
    if (ended.length === 0) return;
    sendRevocations(ended);
    changed(ended.map((l) => l.jobId));
    settled(ended.map((l) => l.jobId));
    wakeIdle();
  }

  async function releaseOrphans(): Promise<void> {
    if (!orphans || now() < orphans.releaseAt) return;
    const { sessions, deferred } = orphans;
    orphans = undefined;
    for (const sessionId of sessions) {
      if (!connected.has(sessionId)) tookBack(await store.releaseSession(sessionId, now(), 'ended'));
    }
    // Leases whose deadline passed while the coordinator was down and that are still unanswered
    // (a volunteer drops a queued lease past the deadline it was given): released, not charged.
    tookBack(await store.releaseLeases(deferred, now()));
  }

  async function sweepOnce(): Promise<void> {
    await orphansLoaded;
    // Orphans not back by the end of their grace are released (not counted) before any expiry.
    await releaseOrphans();
    const at = now();
    tookBack(await store.expireLeases(expiryCutoff(at, graceMs), at));
  }

  /** Sweeps run one at a time, in call order, each with the clock as it is when it starts. */
  function queueSweep(): Promise<void> {
    sweepsQueued++;
    const run = sweepChain.then(sweepOnce).finally(() => {
      sweepsQueued--;
    });
    sweepChain = run.catch(() => undefined);
    return run;
  }

  return {
    async connect(v, replaces, holding) {
      // The previous process's leases are listed (and their deadlines deferred) before any adoption.
      await orphansLoaded;
      const others = sessionsOf.get(v.volunteerId) ?? new Set<string>();
      // The volunteer's other connections keep their leases (another tab, another agent), those
      // being admitted too: this one is listed before its adoption, so that one admitted at the
      // same moment does not take what this one adopts.
      const keep = [...others].filter((sessionId) => sessionId !== replaces && sessionId !== v.sessionId);
      others.add(v.sessionId);
      sessionsOf.set(v.volunteerId, others);
      let adopted: string[];
      try {
        adopted = await store.adoptLeases(v.volunteerId, v.sessionId, keep);
      } catch (error) {
        if (others.delete(v.sessionId) && others.size === 0) sessionsOf.delete(v.volunteerId);
        throw error;
      }
      connected.set(v.sessionId, v.volunteerId);
      if (!holding) return adopted;
      const held = new Set(holding);
      const unheld = adopted.filter((leaseId) => !held.has(leaseId));
      if (unheld.length > 0) tookBack(await store.releaseLeases(unheld, now()));
      return adopted.filter((leaseId) => held.has(leaseId));
    },

    async lease(v, req) {
      const slots = grantCount(req.slots, maxPerRequest);
      if (slots === 0) return { leases: [] };
      const claimed = await store.claimTasks({
        volunteerId: v.volunteerId,
        sessionId: v.sessionId,
        siteKey: v.siteKey,
        ...(v.address !== undefined ? { address: v.address } : {}),
        slots,
        workers: req.workers,
        now: now(),
        ...(req.cached ? { cached: req.cached } : {}),
        newLeaseId: deps.newId,
        random,
      });
      if (claimed.empty?.reason === 'cooldown') {
        // Cooling down: told when to ask again, and not woken by new work meanwhile.
        idle.delete(v.sessionId);
        return { leases: [], retryAfterMs: claimed.empty.retryAfterMs };
      }
      if (claimed.leases.length === 0) {
        if (connected.has(v.sessionId)) idle.add(v.sessionId);
        return { leases: [] };
      }
      idle.delete(v.sessionId);
      changed(claimed.leases.map((l) => l.jobId));
      return { leases: claimed.leases.map((lease) => toWireLease(lease, deps.moduleUrl, limits)) };
    },

    async result(v, req) {
      const size = req.output.byteLength;
      if (size > limits.maxOutputBytes) {
        // The same module would produce the same output again: record why, so the author sees
        // it in the task's errors instead of a later timeout.
        const message = `output of ${size} bytes exceeds the limit of ${limits.maxOutputBytes} bytes`;
        const effects = await store.failLease({ leaseId: req.leaseId, volunteerId: v.volunteerId, kind: 'invalid', message, now: now() });
        applyEffects(effects, effects.outcome === 'recorded');
        throw new CodedError('payload_too_large', message);
      }
      const effects = await store.completeLease({
        leaseId: req.leaseId,
        volunteerId: v.volunteerId,
        output: req.output,
        cpuMs: req.cpuMs,
        now: now(),
      });
      return applyEffects(effects, effects.outcome === 'accepted');
    },

    async fail(v, req) {
      const effects = await store.failLease({
        leaseId: req.leaseId,
        volunteerId: v.volunteerId,
        kind: req.kind,
        message: req.message,
        now: now(),
      });
      return applyEffects(effects, effects.outcome === 'recorded');
    },

    async disconnect(sessionId, cause = 'vanished') {
      const volunteerId = connected.get(sessionId);
      connected.delete(sessionId);
      idle.delete(sessionId);
      const sessions = volunteerId === undefined ? undefined : sessionsOf.get(volunteerId);
      if (sessions?.delete(sessionId) && sessions.size === 0) sessionsOf.delete(volunteerId!);
      tookBack(await store.releaseSession(sessionId, now(), cause));
    },

    async cancel(jobId) {
      const outcome = await store.cancelJob(jobId, now());
      if (!outcome) return false;
      sendRevocations(outcome.revoked);
      changed([jobId]);
      settled([jobId]);
      return true;
    },

    workAdded(jobId) {
      changed([jobId]);
      wakeIdle();
    },

    wakeIdle() {
      wakeLocal();
    },

    async releaseSessions(sessionIds) {
      // A dead node leaves many sessions: released a few at a time, each in its own transaction,
      // side by side on the PostgreSQL pool. All of them end before this does (the caller holds
      // the cluster's release lock), and the first failure is reported after.
      const queue = [...sessionIds];
      const worker = async (): Promise<void> => {
        for (let sessionId = queue.shift(); sessionId !== undefined; sessionId = queue.shift()) {
          tookBack(await store.releaseSession(sessionId, now(), 'ended'));
        }
      };
      const outcomes = await Promise.allSettled(Array.from({ length: Math.min(RELEASES_AT_ONCE, queue.length) }, worker));
      const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    },

    sessionsOnline() {
      return connected.size;
    },

    async sweep() {
      await orphansLoaded;
      return queueSweep();
    },

    start() {
      if (timer) return;
      // Every connection that held leases when this process started belongs to a previous one
      // (in a cluster: unless a live node holds it).
      // Their leases' deadlines may have passed while nobody could answer: deferred to the end of
      // the grace, so a volunteer that comes back in time is not charged a timeout (nor a strike).
      orphansLoaded ??= store
        .sessionsWithLeases()
        .then(async (all) => (deps.orphansAmong ? deps.orphansAmong(all) : all))
        .then(async (sessions) => {
          if (sessions.length === 0) return;
          const releaseAt = now() + resumeGraceMs;
          // Set first: if deferring fails, the orphans are still released at the end of the grace.
          const loaded = { sessions, deferred: [] as string[], releaseAt };
          orphans = loaded;
          loaded.deferred = await store.deferDeadlines(sessions, releaseAt);
        })
        .catch((error: unknown) => onError(error));
      timer = setInterval(() => {
        // A slow sweep is not stacked on: the next tick after it finishes catches up.
        if (sweepsQueued > 0) return;
        queueSweep().catch(onError);
      }, sweepIntervalMs);
      timer.unref?.();
    },

    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await orphansLoaded;
      await sweepChain;
    },
  };
}

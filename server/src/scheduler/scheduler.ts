/**
 * The scheduling service the socket layer calls: it turns volunteer events into store verbs,
 * store leases into wire leases, and taken-back leases into `revoke` notices.
 *
 * Lease lifecycle, as a volunteer sees it:
 *
 *   lease { slots }  ──▶ up to min(slots, maxLeasesPerRequest) leases, each with a deadline
 *                        (issued + job.deadlineMs) and limits.timeMs = job.deadlineMs
 *   result           ──▶ accepted | duplicate (a repeat, counted once) | stale (fenced: the lease
 *                        was expired, released, revoked or is another volunteer's)
 *   fail             ──▶ recorded | duplicate | stale; the task is retried until maxAttempts
 *   disconnect       ──▶ the session's leases are released at once (not counted as attempts)
 *   deadline + grace ──▶ the sweep expires the lease (a counted `timeout`) and sends `revoke`
 *   cancel(job)      ──▶ every live lease of the job is revoked and `revoke` sent
 *
 * Decisions (how many, when overdue, which limits) are the pure functions of `leases.ts`.
 */
import { CodedError } from '../protocol/errors.ts';
import type { FailRequest, Lease, LeaseRequest, ResultRequest } from '../protocol/events.ts';
import type { CompleteOutcome, EndedLease, FailOutcome, Store } from '../store/index.ts';
import {
  DEFAULT_GRACE_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  MAX_LEASES_PER_REQUEST,
  expiryCutoff,
  grantCount,
  revocationsBySession,
  toWireLease,
} from './leases.ts';

/** Who is asking: the volunteer, its connection, and the site it volunteers through. */
export interface VolunteerRef {
  volunteerId: string;
  sessionId: string;
  siteKey: string;
}

/** The service behind the `/volunteer` namespace. */
export interface Scheduler {
  /** Leases work for the volunteer's free slots (possibly none). */
  lease(v: VolunteerRef, req: LeaseRequest): Promise<Lease[]>;
  /** Records a result; throws `payload_too_large` when the output exceeds `limits.maxOutputBytes`. */
  result(v: VolunteerRef, req: ResultRequest): Promise<CompleteOutcome>;
  /** Records a failed attempt reported by the volunteer. */
  fail(v: VolunteerRef, req: FailRequest): Promise<FailOutcome>;
  /** The connection closed: its leases go back to the queue at once. */
  disconnect(sessionId: string): Promise<void>;
  /** Cancels a job and revokes its live leases; false when there is no such job. */
  cancel(jobId: string): Promise<boolean>;
  /** Expires overdue leases now (the timer calls this every `sweepIntervalMs`). */
  sweep(): Promise<void>;
  /** Starts the periodic sweep (idempotent; the timer does not keep the process alive). */
  start(): void;
  /** Stops the periodic sweep and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/** What the scheduler needs from the rest of the coordinator. */
export interface SchedulerDeps {
  store: Store;
  now: () => number;
  /** Makes fresh, unguessable lease ids. */
  newId: () => string;
  limits: { maxMemoryBytes: number; maxOutputBytes: number };
  /** Where volunteers fetch a module, e.g. `/modules/${hash}.wasm`. */
  moduleUrl: (hash: string) => string;
  /** Tells one connection to drop leases (the socket layer emits `revoke`). */
  revoke: (sessionId: string, leaseIds: string[]) => void;
  /** A lease expires at deadline + grace (default 2000 ms). */
  graceMs?: number;
  /** Default 250 ms. */
  sweepIntervalMs?: number;
  /** Most leases per request (default 16). */
  maxLeasesPerRequest?: number;
  /** Something changed for a job (progress pushes); `jobId` is absent when it is not known here. */
  onChange?: (event: { jobId?: string }) => void;
  /** Errors of the background sweep and of callbacks, which have no caller to throw to. */
  onError?: (error: unknown) => void;
}

/** Builds the scheduler; call `start()` to begin sweeping. */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { store, now, limits } = deps;
  const graceMs = deps.graceMs ?? DEFAULT_GRACE_MS;
  const sweepIntervalMs = deps.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  const maxPerRequest = deps.maxLeasesPerRequest ?? MAX_LEASES_PER_REQUEST;
  const onError = deps.onError ?? ((error: unknown) => console.error('sparecycles scheduler:', error));

  // The job of each lease issued by this process, so change events can name the job. Leases
  // issued before a restart are not here; their events carry no jobId.
  const jobOfLease = new Map<string, string>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let sweepChain: Promise<void> = Promise.resolve();
  let sweepsQueued = 0;

  function changed(jobIds: Iterable<string | undefined>): void {
    if (!deps.onChange) return;
    const seen = new Set<string | undefined>(jobIds);
    for (const jobId of seen) {
      try {
        deps.onChange(jobId === undefined ? {} : { jobId });
      } catch (error) {
        onError(error);
      }
    }
  }

  /** Forgets ended leases and reports which jobs they belonged to. */
  function forget(leaseIds: Iterable<string>): (string | undefined)[] {
    const jobs: (string | undefined)[] = [];
    for (const leaseId of leaseIds) {
      jobs.push(jobOfLease.get(leaseId));
      jobOfLease.delete(leaseId);
    }
    return jobs;
  }

  function sendRevocations(ended: readonly EndedLease[]): void {
    for (const [sessionId, leaseIds] of revocationsBySession(ended)) {
      try {
        deps.revoke(sessionId, leaseIds);
      } catch (error) {
        onError(error);
      }
    }
  }

  async function expireOverdue(): Promise<void> {
    const at = now();
    const expired = await store.expireLeases(expiryCutoff(at, graceMs), at);
    if (expired.length === 0) return;
    sendRevocations(expired);
    changed(forget(expired.map((l) => l.leaseId)));
  }

  /** Sweeps run one at a time, in call order, each with the clock as it is when it starts. */
  function queueSweep(): Promise<void> {
    sweepsQueued++;
    const run = sweepChain.then(expireOverdue).finally(() => {
      sweepsQueued--;
    });
    sweepChain = run.catch(() => undefined);
    return run;
  }

  return {
    async lease(v, req) {
      const slots = grantCount(req.slots, maxPerRequest);
      if (slots === 0) return [];
      const claimed = await store.claimTasks({
        volunteerId: v.volunteerId,
        sessionId: v.sessionId,
        siteKey: v.siteKey,
        slots,
        now: now(),
        ...(req.cached ? { cached: req.cached } : {}),
        newLeaseId: deps.newId,
      });
      for (const lease of claimed) jobOfLease.set(lease.leaseId, lease.jobId);
      changed(claimed.map((l) => l.jobId));
      return claimed.map((lease) => toWireLease(lease, deps.moduleUrl, limits));
    },

    async result(v, req) {
      const size = req.output.byteLength;
      if (size > limits.maxOutputBytes) {
        // The same module would produce the same output again: record why, so the author sees
        // it in the task's errors instead of a later timeout.
        const message = `output of ${size} bytes exceeds the limit of ${limits.maxOutputBytes} bytes`;
        const outcome = await store.failLease({ leaseId: req.leaseId, volunteerId: v.volunteerId, kind: 'invalid', message, now: now() });
        if (outcome === 'recorded') changed(forget([req.leaseId]));
        throw new CodedError('payload_too_large', message);
      }
      const outcome = await store.completeLease({
        leaseId: req.leaseId,
        volunteerId: v.volunteerId,
        output: req.output,
        cpuMs: req.cpuMs,
        now: now(),
      });
      // A stale call may name another volunteer's live lease: only an answer that took effect
      // (or repeats one that did) ends the lease here.
      if (outcome !== 'stale') {
        const jobs = forget([req.leaseId]);
        if (outcome === 'accepted') changed(jobs);
      }
      return outcome;
    },

    async fail(v, req) {
      const outcome = await store.failLease({
        leaseId: req.leaseId,
        volunteerId: v.volunteerId,
        kind: req.kind,
        message: req.message,
        now: now(),
      });
      if (outcome !== 'stale') {
        const jobs = forget([req.leaseId]);
        if (outcome === 'recorded') changed(jobs);
      }
      return outcome;
    },

    async disconnect(sessionId) {
      const released = await store.releaseSession(sessionId, now());
      if (released.length > 0) changed(forget(released.map((l) => l.leaseId)));
    },

    async cancel(jobId) {
      const outcome = await store.cancelJob(jobId, now());
      if (!outcome) return false;
      sendRevocations(outcome.revoked);
      forget(outcome.revoked.map((l) => l.leaseId));
      changed([jobId]);
      return true;
    },

    sweep: queueSweep,

    start() {
      if (timer) return;
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
      await sweepChain;
    },
  };
}

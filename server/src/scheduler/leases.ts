/**
 * Pure lease decisions: how many leases one request gets, when a lease counts as overdue, what
 * limits travel with it, and how taken-back leases are grouped for the `revoke` notice.
 * No I/O and no clock: `now` always comes in as a parameter.
 */
import type { Lease, LeaseLimits } from '../protocol/events.ts';

/** A lease as the store records it; `toWireLease` turns it into the wire `Lease` a volunteer gets. */
export interface ClaimedLease {
  leaseId: string;
  taskId: string;
  jobId: string;
  /** The job's title and purpose (null when it has none), for the volunteer to see. */
  jobTitle: string | null;
  jobPurpose: string | null;
  index: number;
  moduleHash: string;
  input: Uint8Array;
  deadline: number;
  deadlineMs: number;
}

/** A lease that ended without its volunteer's answer, so the volunteer can be told to drop it. */
export interface EndedLease {
  leaseId: string;
  volunteerId: string;
  sessionId: string;
  jobId: string;
}

/**
 * Leases a session may hold per worker it announced, beyond the one each worker runs: one queued
 * lease per worker hides the round trip between tasks without hoarding.
 */
export const PREFETCH_PER_WORKER = 1;

/** Extra time after a lease's deadline before the coordinator takes it back, in ms. */
export const DEFAULT_GRACE_MS = 2000;
/**
 * After a restart, how long a volunteer whose connection died with the previous process has to
 * reconnect and adopt its leases before they are released, in ms. Covers socket.io-client's
 * reconnection back-off (0.5 s doubling to 5 s, with jitter) over a restart of a few seconds.
 */
export const DEFAULT_RESUME_GRACE_MS = 10_000;
/** How often overdue leases are swept, in ms. */
export const DEFAULT_SWEEP_INTERVAL_MS = 250;
/**
 * Most leases one `lease` request can get, whatever `slots` it announces. Each lease's input is one
 * binary attachment of the ack packet, and socket.io-client refuses (and disconnects on) a packet
 * of more than 10 attachments; a volunteer with more slots simply asks again.
 */
export const MAX_LEASES_PER_REQUEST = 8;

/**
 * Leases to grant for `slots` free worker slots: a whole number from 0 to `maxPerRequest`.
 * Anything that is not a positive finite number gets nothing.
 */
export function grantCount(slots: number, maxPerRequest: number = MAX_LEASES_PER_REQUEST): number {
  if (!Number.isFinite(slots) || slots < 1) return 0;
  return Math.max(0, Math.min(Math.floor(slots), Math.floor(maxPerRequest)));
}

/** What bounds one lease request, besides the work available. */
export interface LeaseBudget {
  /** Leases asked for (already capped per request by `grantCount`). */
  asked: number;
  /** Workers the session announced, when it did: bounds its prefetch. */
  workers?: number | undefined;
  /** The volunteer's concurrent-lease quota (its reputation's). */
  quota: number;
  /** Live leases the volunteer holds, over all its sessions. */
  heldByVolunteer: number;
  /** Live leases this session holds. */
  heldBySession: number;
}

/**
 * Leases to grant: what was asked, within the volunteer's quota (shared by its sessions) and, when
 * the session announced its workers, within one running plus `PREFETCH_PER_WORKER` queued lease
 * per worker. Never negative.
 */
export function leaseBudget(budget: LeaseBudget): number {
  let grant = Math.min(budget.asked, budget.quota - budget.heldByVolunteer);
  if (budget.workers !== undefined) grant = Math.min(grant, budget.workers * (1 + PREFETCH_PER_WORKER) - budget.heldBySession);
  return Math.max(0, Math.floor(grant));
}

/**
 * Leases whose deadline is before the returned instant are overdue at `now`. The grace lets the
 * volunteer's own timeout report (its worker is stopped at the deadline) arrive first, so the
 * author sees the volunteer's account rather than the coordinator's.
 */
export function expiryCutoff(now: number, graceMs: number): number {
  return now - Math.max(0, graceMs);
}

/** The limits a volunteer's runtime enforces for one lease of a job with `deadlineMs`. */
export function leaseLimits(deadlineMs: number, limits: { maxMemoryBytes: number; maxOutputBytes: number }): LeaseLimits {
  return { timeMs: deadlineMs, maxMemoryBytes: limits.maxMemoryBytes, maxOutputBytes: limits.maxOutputBytes };
}

/** Turns a lease the store recorded into the wire `Lease` a volunteer receives. */
export function toWireLease(
  claimed: ClaimedLease,
  moduleUrl: (hash: string) => string,
  limits: { maxMemoryBytes: number; maxOutputBytes: number },
): Lease {
  return {
    leaseId: claimed.leaseId,
    taskId: claimed.taskId,
    job: { id: claimed.jobId, title: claimed.jobTitle, purpose: claimed.jobPurpose },
    module: { hash: claimed.moduleHash, url: moduleUrl(claimed.moduleHash) },
    input: claimed.input,
    deadline: claimed.deadline,
    limits: leaseLimits(claimed.deadlineMs, limits),
  };
}

/** Groups taken-back leases by the connection that holds them: one `revoke` notice per session. */
export function revocationsBySession(ended: readonly EndedLease[]): Map<string, string[]> {
  const bySession = new Map<string, string[]>();
  for (const lease of ended) {
    const ids = bySession.get(lease.sessionId);
    if (ids) ids.push(lease.leaseId);
    else bySession.set(lease.sessionId, [lease.leaseId]);
  }
  return bySession;
}

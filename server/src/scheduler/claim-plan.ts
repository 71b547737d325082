/**
 * A claim as a pure decision, in two steps so the store reads only what each needs:
 *
 * 1. `claimAllowance`: from the volunteer's record and the leases it holds, whether it may take
 *    any now and how many: its cool-down after a strike, its quota (shared by its sessions) and
 *    its session's prefetch bound. When none, it says why (`cooldown` with when to ask again,
 *    `quota`), so nobody re-reads the volunteer outside the claim's transaction.
 * 2. `planClaim`: from the candidate jobs and their claimable tasks, which leases to make (fair
 *    share with locality, `fair-share.ts`), each task's replication when it is fresh (adaptive
 *    replication, `reputation.ts`), its new counts and state, and each lease's deadline.
 *
 * Deadlines of queued leases: a session that announced `workers` runs at most that many leases at
 * once; a lease granted beyond them waits in the volunteer's queue behind live ones. Its deadline
 * counts from the moment a worker is sure to be free (the live leases' deadlines bound when they
 * end) plus the job's own `deadlineMs`, so a short task queued behind another job's long one does
 * not expire in the queue. The volunteer's runtime still stops the task `deadlineMs` after it
 * starts (`toWireLease` sends `deadlineMs` as the time limit), and expiry stays fenced at the
 * stored deadline.
 */
import { shareSlots, type ShareCandidate } from './fair-share.ts';
import { leaseBudget } from './leases.ts';
import { openTaskState } from './quorum.ts';
import { claimableFrom, newReputation, replicationFor, type QuotaLimits, type Reputation } from './reputation.ts';

/** Why a claim came back empty. */
export type ClaimEmpty =
  /** Cooling down after a strike: ask again in `retryAfterMs`, new work or not. */
  | { reason: 'cooldown'; retryAfterMs: number }
  /** The volunteer holds all its quota allows, or the session all its workers can run and queue. */
  | { reason: 'quota' }
  /** Nothing this volunteer may take: ask again when told there is work. */
  | { reason: 'no_work' };

/** A volunteer's record as a claim reads it: its reputation and when its latest strike was. */
export interface ClaimVolunteer extends Reputation {
  /** When its latest strike was (0: never). */
  struckAt: number;
}

/** What the volunteer side of a claim depends on. */
export interface AllowanceInput {
  now: number;
  /** Leases asked for (already capped per request). */
  asked: number;
  /** Workers the asking session runs, when it said. */
  workers?: number | undefined;
  /** The volunteer's record; `undefined` for a volunteer never seen before. */
  volunteer: ClaimVolunteer | undefined;
  /** Quota bounds: a new volunteer starts at `initial`. */
  quota: QuotaLimits;
  /** Live leases of the volunteer over all its sessions. */
  heldByVolunteer: number;
  /** Live leases of the asking session. */
  heldBySession: number;
  /** The volunteer's answers still waiting for a verdict (read only when it has strikes). */
  awaitingVerdicts: number;
}

/** How many leases the volunteer may take now, and its record (a new volunteer's defaults). */
export type Allowance = { grant: number; reputation: Reputation; fresh: boolean } | { empty: ClaimEmpty };

/** Whether and how many leases a volunteer may take now; see the module comment. */
export function claimAllowance(input: AllowanceInput): Allowance {
  const { volunteer, now } = input;
  if (volunteer) {
    const from = claimableFrom(volunteer, volunteer.struckAt);
    if (now < from) return { empty: { reason: 'cooldown', retryAfterMs: from - now } };
  }
  const reputation = volunteer ? stripStruckAt(volunteer) : newReputation(input.quota);
  // A struck volunteer's answers still waiting for a verdict count against its quota: a liar that
  // answers at once must not take a fresh lease per round trip while its lies wait to be judged.
  const awaiting = reputation.strikes > 0 ? input.awaitingVerdicts : 0;
  const grant = leaseBudget({
    asked: input.asked,
    workers: input.workers,
    quota: reputation.quota,
    heldByVolunteer: input.heldByVolunteer + awaiting,
    heldBySession: input.heldBySession,
  });
  if (grant === 0) return { empty: { reason: 'quota' } };
  return { grant, reputation, fresh: volunteer === undefined };
}

function stripStruckAt(volunteer: ClaimVolunteer): Reputation {
  const { consecutiveValid, valid, invalid, unchecked, errors, quota, strikes } = volunteer;
  return { consecutiveValid, valid, invalid, unchecked, errors, quota, strikes };
}

/** A task open for another replica, as the claim read it. */
export interface ClaimTask {
  idx: number;
  live: number;
  results: number;
  wanted: number;
  needed: number;
}

/** An active job with work, as the claim read it. */
export interface ClaimJob {
  id: string;
  moduleHash: string;
  /** Its priority: its weight in the fair share. */
  priority: number;
  /** Live leases of the job, on any volunteer (0 when only one job has work: no share to weigh). */
  live: number;
  createdAt: number;
  deadlineMs: number;
  redundancy: number;
  quorum: number;
  adaptive: boolean;
  /** Tasks this volunteer may take (none of their replicas with it), in index order, at most the grant. */
  tasks: readonly ClaimTask[];
}

/** What the work side of a claim depends on. */
export interface PlanInput {
  now: number;
  /** From `claimAllowance`. */
  grant: number;
  reputation: Reputation;
  /** Workers the asking session runs, when it said: leases beyond them are queued. */
  workers?: number | undefined;
  /** Deadlines of the session's live leases. */
  sessionDeadlines: readonly number[];
  jobs: readonly ClaimJob[];
  /** Modules the volunteer holds (locality). */
  cached?: readonly string[] | undefined;
  /** Uniform draws in [0, 1) for adaptive replication's spot checks. */
  random: () => number;
}

/** One lease to make, and its task's new counts. */
export interface PlannedLease {
  jobId: string;
  idx: number;
  deadline: number;
  deadlineMs: number;
  /** The task after this replica: its live count, state and replication target. */
  task: { live: number; state: 'pending' | 'running'; wanted: number; needed: number };
}

/** The leases to make, in the order the volunteer should run them, or why there are none. */
export interface ClaimPlan {
  leases: PlannedLease[];
  empty?: ClaimEmpty;
}

/**
 * The earliest a lease granted now can start on one of `workers` workers, given the deadlines of
 * the leases the session already holds (each holds a worker at most until its deadline).
 */
export function queuedStart(now: number, workers: number | undefined, held: readonly number[]): number {
  if (workers === undefined || held.length < workers) return now;
  const sorted = [...held].sort((a, b) => a - b);
  // Once all but `workers - 1` held leases have ended, a worker is free for this one.
  return Math.max(now, sorted[held.length - Math.max(1, Math.floor(workers))]!);
}

/** Which leases a claim makes; see the module comment. */
export function planClaim(input: PlanInput): ClaimPlan {
  const candidates: ShareCandidate[] = input.jobs.map((job) => ({
    id: job.id,
    moduleHash: job.moduleHash,
    weight: job.priority,
    live: job.live,
    claimable: Math.min(job.tasks.length, input.grant),
    createdAt: job.createdAt,
  }));
  const byId = new Map(input.jobs.map((job) => [job.id, job]));
  const held = [...input.sessionDeadlines];
  const leases: PlannedLease[] = [];
  for (const { jobId, count } of shareSlots(candidates, input.grant, input.cached)) {
    const job = byId.get(jobId)!;
    for (const task of job.tasks.slice(0, count)) {
      const fresh = task.live === 0 && task.results === 0;
      const target = fresh
        ? replicationFor({ redundancy: job.redundancy, quorum: job.quorum, adaptive: job.adaptive }, input.reputation, input.random())
        : { replicas: task.wanted, quorum: task.needed };
      const live = task.live + 1;
      const deadline = queuedStart(input.now, input.workers, held) + job.deadlineMs;
      held.push(deadline);
      leases.push({
        jobId,
        idx: task.idx,
        deadline,
        deadlineMs: job.deadlineMs,
        task: { live, state: openTaskState({ live, results: task.results, wanted: target.replicas }), wanted: target.replicas, needed: target.quorum },
      });
    }
  }
  return leases.length > 0 ? { leases } : { leases, empty: { reason: 'no_work' } };
}

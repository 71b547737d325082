/**
 * A volunteer's record, and what it earns: adaptive replication (BOINC's rule) and a quota of
 * concurrent leases (BOINC's per-host quota, applied to leases held at once). Pure functions over
 * plain data; the store keeps one record per volunteer id and updates it in the same transaction
 * as the result that changes it.
 *
 * Adaptive replication: a volunteer is trusted once its last `TRUST_AFTER` (10) results that were
 * compared with other volunteers' all agreed. A trusted volunteer that claims a fresh task of a
 * replicated job gets it as a single replica with probability 1 − 1/record, where the record is its
 * unbroken run of agreeing results; otherwise the task is replicated as usual, which spot-checks it.
 * The first disagreement sets the run to zero: the volunteer is untrusted at once.
 * A single replica's result is accepted unchecked and does not lengthen the run; only compared
 * results do.
 *
 * Quota, earned: a new volunteer may hold `initial` (2) leases at once, whatever it announces, so a
 * crowd of throwaway ids gets two leases each to waste, not a full share. Each accepted or agreeing
 * result doubles the quota up to `max` (64), so an honest volunteer with W workers reaches the 2W
 * its workers and prefetch use after about log2(W) accepted results: seconds of work. A reported
 * failure lowers it by one; a result that disagrees with the accepted one, or a lease left to
 * expire unanswered (hoarding), halves it. It never goes below one, so a volunteer that recovers
 * earns its way back.
 *
 * Strikes and cool-down: a quota bounds the leases held at once, not how often they are taken, so
 * a liar at quota one would still waste a replica per round trip. Each disagreement or expired
 * lease is a strike; after one, the volunteer gets no lease for `cooldownMs(strikes)` (1 s,
 * doubling per strike in a row, at most 60 s), counted from the latest strike. Strikes for leases
 * issued before the latest strike (a batch of leases expiring together after a laptop slept, or
 * lies sent before the first was judged) restart the cool-down without lengthening the run
 * (`strikeEscalates`). Its next accepted or agreeing result clears its strikes. Reported failures
 * are no strike: a module that traps is the author's fault, not the volunteer's.
 */
import type { FailureKind } from '../protocol/events.ts';

/** Results in an unbroken agreeing run before a volunteer is trusted with single replicas. */
export const TRUST_AFTER = 10;

/** Bounds of the concurrent-lease quota. */
export interface QuotaLimits {
  initial: number;
  max: number;
}

/** A new volunteer starts low and earns the rest (see the module comment). */
export const DEFAULT_QUOTA: QuotaLimits = { initial: 2, max: 64 };

/**
 * Accepted results in a row a new volunteer needs before its quota reaches `wanted` leases
 * (0 when it starts there; `Infinity` past the maximum).
 */
export function resultsToEarn(wanted: number, limits: QuotaLimits = DEFAULT_QUOTA): number {
  if (wanted > limits.max) return Infinity;
  let quota = limits.initial;
  let results = 0;
  while (quota < wanted) {
    quota = clampQuota(quota * 2, limits);
    results++;
  }
  return results;
}

/** One volunteer's record. */
export interface Reputation {
  /** Compared results in a row that agreed with the accepted output. */
  consecutiveValid: number;
  /** Compared results that agreed, in all. */
  valid: number;
  /** Compared results that disagreed, in all. */
  invalid: number;
  /** Results accepted without comparison (redundancy 1, or a trusted single replica). */
  unchecked: number;
  /** Reported failures and expired leases, in all. */
  errors: number;
  /** Leases this volunteer may hold at once. */
  quota: number;
  /** Disagreements and expired leases since its last accepted or agreeing result. */
  strikes: number;
}

/** The cool-down after a strike: `baseMs`, doubling per strike in a row, at most `maxMs`. */
export const COOLDOWN = { baseMs: 1_000, maxMs: 60_000 } as const;

/** How long after its latest strike a volunteer with `strikes` strikes in a row gets no lease. */
export function cooldownMs(strikes: number): number {
  if (strikes < 1) return 0;
  return Math.min(COOLDOWN.maxMs, COOLDOWN.baseMs * 2 ** Math.min(strikes - 1, 30));
}

/**
 * Whether a strike for a lease issued at `issuedAt` adds to the run: only when the lease was
 * issued after the latest strike (`struckAt`; 0 when none), so one batch is one strike. (No lease
 * is issued in the millisecond of a strike after it: the cool-down has begun.)
 */
export function strikeEscalates(issuedAt: number, struckAt: number): boolean {
  return issuedAt > struckAt;
}

/** Strikes after one more: one more in the run, or (not escalating) at least the one it is. */
const struck = (strikes: number, escalate: boolean): number => (escalate ? strikes + 1 : Math.max(1, strikes));

/** The first time a volunteer may be leased work again, given when its latest strike was. */
export function claimableFrom(rep: Reputation, struckAt: number): number {
  return rep.strikes < 1 ? 0 : struckAt + cooldownMs(rep.strikes);
}

/** The record of a volunteer never seen before. */
export function newReputation(limits: QuotaLimits = DEFAULT_QUOTA): Reputation {
  return { consecutiveValid: 0, valid: 0, invalid: 0, unchecked: 0, errors: 0, quota: limits.initial, strikes: 0 };
}

export function isTrusted(rep: Reputation): boolean {
  return rep.consecutiveValid >= TRUST_AFTER;
}

/** The chance that a trusted volunteer's fresh task goes out as a single replica. */
export function singleReplicaChance(rep: Reputation): number {
  return isTrusted(rep) ? 1 - 1 / rep.consecutiveValid : 0;
}

/**
 * How a fresh task (no live replica, no result) is replicated when `rep`'s volunteer claims it.
 * `random` is a uniform draw in [0, 1), injected so decisions replay. A job that refuses adaptive
 * replication (`adaptive: false`) always gets its full redundancy.
 */
export function replicationFor(
  job: { redundancy: number; quorum: number; adaptive?: boolean },
  rep: Reputation,
  random: number,
): { replicas: number; quorum: number; single: boolean } {
  if (job.adaptive !== false && job.quorum > 1 && random < singleReplicaChance(rep)) return { replicas: 1, quorum: 1, single: true };
  return { replicas: job.redundancy, quorum: job.quorum, single: false };
}

const clampQuota = (quota: number, limits: QuotaLimits): number => Math.max(1, Math.min(limits.max, Math.floor(quota)));

/** A compared result agreed with the accepted output. */
export function afterAgreed(rep: Reputation, limits: QuotaLimits = DEFAULT_QUOTA): Reputation {
  return {
    ...rep,
    consecutiveValid: rep.consecutiveValid + 1,
    valid: rep.valid + 1,
    quota: clampQuota(rep.quota * 2, limits),
    strikes: 0,
  };
}

/**
 * A compared result disagreed with the accepted output: trust is lost at once. A strike, that
 * lengthens the run unless `escalate` is false (see `strikeEscalates`).
 */
export function afterDisagreed(rep: Reputation, limits: QuotaLimits = DEFAULT_QUOTA, escalate = true): Reputation {
  return {
    ...rep,
    consecutiveValid: 0,
    invalid: rep.invalid + 1,
    quota: clampQuota(rep.quota / 2, limits),
    strikes: struck(rep.strikes, escalate),
  };
}

/** A result was accepted without comparison (nothing to agree or disagree with). */
export function afterUnchecked(rep: Reputation, limits: QuotaLimits = DEFAULT_QUOTA): Reputation {
  return { ...rep, unchecked: rep.unchecked + 1, quota: clampQuota(rep.quota * 2, limits), strikes: 0 };
}

/**
 * A lease ended without a result: a failure the volunteer reported (`trap`, `memory`, ...) or a
 * lease the coordinator expired (`expired`: the volunteer held it and never answered).
 */
export function afterError(rep: Reputation, cause: FailureKind | 'expired', limits: QuotaLimits = DEFAULT_QUOTA, escalate = true): Reputation {
  const expired = cause === 'expired';
  const quota = expired ? rep.quota / 2 : rep.quota - 1;
  return { ...rep, errors: rep.errors + 1, quota: clampQuota(quota, limits), strikes: expired ? struck(rep.strikes, escalate) : rep.strikes };
}

/** Whether an event is a strike (it dates the volunteer's cool-down). */
export const isStrike = (event: 'disagreed' | FailureKind | 'expired'): boolean => event === 'disagreed' || event === 'expired';

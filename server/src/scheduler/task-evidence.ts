/**
 * What a task's unanswered leases prove about the task, as pure decisions: when counted failures
 * are enough to fail it (the per-address rule), when disconnects count as crashes (the streak),
 * and how many releases it survives.
 *
 * The per-address rule. A counted failure (a reported failure, an expiry, a crash) is evidence
 * from its *source*: a trusted volunteer (`isTrusted`: its last `TRUST_AFTER` compared results
 * agreed, which costs real work) is a source of its own; any other volunteer is its address
 * (`socket/address.ts` normalises it: IPv4, or an IPv6 /64), so any number of throwaway ids on one
 * address are one source; a lease with no known address is a source of its own, as before
 * addresses were recorded. A task that has failed `maxAttempts` times is failed when
 *   - its failures come from at least `maxAttempts` distinct sources (independent evidence), or
 *   - no other source has worked on the task's job (leased any of its tasks): the failing
 *     sources are the whole grid as this job sees it, e.g. one local volunteer running a module
 *     that traps, or a lab behind one NAT. Otherwise another source will get the task (it stays
 *     open), and either answers it or fails it too.
 * So 200 fresh ids from one address cannot fail a job that an honest volunteer elsewhere works
 * on; on a one-address grid a trapping task still fails after exactly `maxAttempts` attempts.
 */

/** One counted failure of a task: who failed it, from where, and the lease that recorded it. */
export interface FailureWitness {
  leaseId: string;
  volunteerId: string;
  /** The volunteer's normalised address when it was leased; null when unknown. */
  address: string | null;
  /** Whether the volunteer is trusted (see `isTrusted`): its failures need no other witness. */
  trusted: boolean;
}

/** The failing sources of a task, in the shape the store checks its job's other leases against. */
export interface FailureSources {
  /** Addresses whose untrusted volunteers failed the task. */
  addresses: string[];
  /** Trusted volunteers that failed the task. */
  volunteers: string[];
  /** Leases with no known address that failed the task (each a source of its own). */
  leases: string[];
  /** Distinct sources in all. */
  count: number;
}

/** The source a failure is evidence from (see the module comment). */
export function sourceOf(witness: FailureWitness): string {
  if (witness.trusted) return `volunteer:${witness.volunteerId}`;
  if (witness.address !== null) return `address:${witness.address}`;
  return `lease:${witness.leaseId}`;
}

/** The distinct sources among a task's counted failures. */
export function failureSources(witnesses: readonly FailureWitness[]): FailureSources {
  const addresses = new Set<string>();
  const volunteers = new Set<string>();
  const leases = new Set<string>();
  for (const witness of witnesses) {
    if (witness.trusted) volunteers.add(witness.volunteerId);
    else if (witness.address !== null) addresses.add(witness.address);
    else leases.add(witness.leaseId);
  }
  return { addresses: [...addresses], volunteers: [...volunteers], leases: [...leases], count: addresses.size + volunteers.size + leases.size };
}

/**
 * Whether a task's `failures` counted so far (this one included; `witnesses` are their leases)
 * fail it, or leave it open for another volunteer. `otherSourceInJob` answers whether some lease
 * of the job came from a source other than `failureSources(witnesses)`; `undefined` when the
 * caller has not looked, which is only allowed when `needsJobSources` says it cannot matter.
 */
export function afterCountedFailure(
  failures: number,
  witnesses: readonly FailureWitness[],
  maxAttempts: number,
  otherSourceInJob: boolean | undefined,
): 'open' | 'failed' {
  if (failures < maxAttempts) return 'open';
  if (failureSources(witnesses).count >= maxAttempts) return 'failed';
  if (otherSourceInJob === undefined) throw new Error("afterCountedFailure: the job's other sources were not read");
  return otherSourceInJob ? 'open' : 'failed';
}

/** Whether `afterCountedFailure` needs to know about the job's other sources. */
export function needsJobSources(failures: number, witnesses: readonly FailureWitness[], maxAttempts: number): boolean {
  return failures >= maxAttempts && failureSources(witnesses).count < maxAttempts;
}

/**
 * Disconnects a task survives, per attempt its job allows. A release is not the task's fault (the
 * visitor left), but a task that every volunteer's tab drops (it crashes the tab, or outlasts every
 * visit) must still end: past this many releases per allowed attempt it fails.
 */
export const RELEASES_PER_ATTEMPT = 10;

/** Where a task goes after its lease was released: open again, or failed after too many releases. */
export function afterRelease(releases: number, maxAttempts: number): 'open' | 'failed' {
  return releases >= maxAttempts * RELEASES_PER_ATTEMPT ? 'failed' : 'open';
}

/**
 * Distinct volunteers that vanish with a task in a row before a vanishing counts as a failed
 * attempt of kind `crash`. One visitor closing a tab costs nothing; a second volunteer, on another
 * machine, disconnecting while holding the same task right after is already unlikely for an
 * ordinary task, and is what a task that crashes its volunteers (a tab killed by the engine, an
 * agent at its heap limit) does every time. So from the second on, each vanishing counts: a
 * poisonous task harms 1 + maxAttempts volunteers (4 with the default 3), not 10 × maxAttempts.
 * (A crash is a counted failure: the per-address rule above applies to it too.)
 */
export const CRASH_STREAK = 2;

/**
 * How an earlier lease of the task ended, for the streak: `vanished` (released at a disconnect,
 * counted or not), `neutral` (released because the coordinator restarted: no evidence either way)
 * or `answered` (anything else: a result, a reported failure, an expiry, a revocation).
 */
export type LeaseEnding = 'vanished' | 'neutral' | 'answered';

/**
 * Whether a disconnect by `volunteerId` while holding a task is only a release or counts as a
 * `crash`: pure over the task's earlier lease endings, newest first. The streak is the distinct
 * volunteers among the vanished leases since the last answered one, this volunteer included; the
 * same volunteer vanishing twice (a flaky network, a reload) is one.
 */
export function afterVanishing(
  volunteerId: string,
  earlier: readonly { volunteerId: string; ending: LeaseEnding }[],
  streak: number = CRASH_STREAK,
): { verdict: 'release' | 'crash'; streak: number } {
  const volunteers = new Set([volunteerId]);
  for (const lease of earlier) {
    if (lease.ending === 'answered') break;
    if (lease.ending === 'vanished') volunteers.add(lease.volunteerId);
  }
  return { verdict: volunteers.size >= streak ? 'crash' : 'release', streak: volunteers.size };
}

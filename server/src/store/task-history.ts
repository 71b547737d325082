/**
 * A task's history of attempts that did not produce a result, kept as a JSON array of
 * `TaskError` in the task row (NULL while empty). Pure helpers over plain data.
 *
 * Kinds: the volunteer's own failure kinds (`trap`, `timeout`, `memory`, `invalid`), `timeout`
 * also for a lease the coordinator expired, `released` for a lease taken back because the
 * volunteer disconnected (or did not come back after a coordinator restart), and `crash` for a
 * disconnect counted as a failed attempt because it continued a streak of volunteers vanishing
 * with the task (see `afterVanishing`). A `released` entry does not count as an attempt: it
 * carries the number the uncounted attempt had, and the next attempt reuses that number.
 */
import type { TaskError } from '../protocol/http.ts';

/** Reads the stored history (NULL or malformed text reads as empty). */
export function parseTaskErrors(stored: string | null | undefined): TaskError[] {
  if (!stored) return [];
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? (parsed as TaskError[]) : [];
  } catch {
    return [];
  }
}

/** Returns the stored form of the history with one more entry. */
export function appendTaskError(stored: string | null | undefined, entry: TaskError): string {
  return JSON.stringify([...parseTaskErrors(stored), entry]);
}

/**
 * Where a task goes after a counted attempt failed: open for another volunteer, or `failed` for
 * good once it has used every attempt its job allows.
 */
export function afterFailedAttempt(failures: number, maxAttempts: number): 'open' | 'failed' {
  return failures >= maxAttempts ? 'failed' : 'open';
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

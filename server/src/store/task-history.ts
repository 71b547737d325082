/**
 * A task's history of attempts that did not produce a result, kept as a JSON array of
 * `TaskError` in the task row (NULL while empty). Pure helpers over plain data.
 *
 * Kinds: the volunteer's own failure kinds (`trap`, `timeout`, `memory`, `invalid`), `timeout`
 * also for a lease the coordinator expired, and `released` for a lease taken back because the
 * volunteer disconnected. A `released` entry does not count as an attempt: it carries the number
 * the uncounted attempt had, and the next attempt reuses that number.
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

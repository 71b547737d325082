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
 * Where a task goes after a counted attempt failed: back to `pending` for another volunteer, or
 * `failed` for good once it has used every attempt its job allows.
 */
export function afterFailedAttempt(attempts: number, maxAttempts: number): 'pending' | 'failed' {
  return attempts >= maxAttempts ? 'failed' : 'pending';
}

/**
 * A task's history of attempts that did not produce a result, kept as a JSON array of
 * `TaskError` in the task row (NULL while empty). The entries are the task machine's
 * (`scheduler/task-machine.ts`); this module only reads and writes their stored form.
 *
 * Kinds: the volunteer's own failure kinds (`trap`, `timeout`, `memory`, `invalid`), `timeout`
 * also for a lease the coordinator expired, `released` for a lease taken back because the
 * volunteer disconnected (or did not come back after a coordinator restart), `crash` for a
 * disconnect counted as a failed attempt because it continued a streak of volunteers vanishing
 * with the task (see `scheduler/task-evidence.ts`), and `no_quorum`. A `released` entry does not
 * count as an attempt: it carries the number the uncounted attempt had, and the next attempt
 * reuses that number.
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

/**
 * Entries a history keeps, the newest: as many as the most attempts a job may allow (so every
 * counted attempt's reason is kept), while a task released or failed over and over (by
 * throwaway ids that are not evidence enough to fail it) does not grow its row without bound.
 */
export const MAX_TASK_HISTORY = 100;

/** Returns the stored form of the history with `entries` appended (the newest `MAX_TASK_HISTORY`). */
export function appendTaskErrors(stored: string | null | undefined, entries: readonly TaskError[]): string {
  return JSON.stringify([...parseTaskErrors(stored), ...entries].slice(-MAX_TASK_HISTORY));
}

/** Returns the stored form of the history with one more entry. */
export function appendTaskError(stored: string | null | undefined, entry: TaskError): string {
  return appendTaskErrors(stored, [entry]);
}

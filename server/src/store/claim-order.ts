/**
 * The order in which a claim takes work from the active jobs: a pure decision over plain data.
 *
 * Highest priority first; among equal priority, jobs whose module the volunteer already holds
 * (locality: no download); then the oldest job; then job id, so the order is total and a replay
 * gives the same answer. Within a job, tasks go in input order (the store reads them by index).
 */

/** What the claim needs to know about one active job with pending tasks. */
export interface ClaimCandidate {
  id: string;
  moduleHash: string;
  priority: number;
  createdAt: number;
}

/** Returns the candidates sorted into claim order (a new array; the input is left alone). */
export function orderClaimCandidates<T extends ClaimCandidate>(jobs: readonly T[], cached: readonly string[] = []): T[] {
  const held = new Set(cached);
  const rank = (job: T): number => (held.has(job.moduleHash) ? 0 : 1);
  return [...jobs].sort(
    (a, b) =>
      b.priority - a.priority ||
      rank(a) - rank(b) ||
      a.createdAt - b.createdAt ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

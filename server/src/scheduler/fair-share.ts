/**
 * Fair share with locality, as a pure decision: which active jobs one claim takes its leases from.
 *
 * Each job's share of the grid is its weight (its priority, 1 to 1000) over the weights of all
 * jobs that have work. A claim is filled one lease at a time, each going to the job whose live
 * leases per unit of weight would be lowest after taking it (water-filling), so a job submitted
 * behind a huge one gets the very next free slot. Locality bends this by at most one lease: a job
 * whose module the volunteer already holds may take a lease when that leaves it no more than one
 * lease past where the fairest choice would be, saving the volunteer a download.
 * Remaining ties go to the older job, then the smaller id, so the answer is total and replays.
 *
 * Tolerance (tested as properties in `fair-share.test.ts`): after a claim, a job that took a lease
 * is at most one lease of the lagging job's weight (`1 / w_lagging`) ahead, in `live / weight`, of
 * any job that could still take work, plus one lease of its own weight when its module was cached
 * (locality's slack); the gap between two jobs that could both still take work never widens. One
 * claim closes a large gap lease by lease, so shares converge over claims, not in one. A job never
 * takes more than it has claimable.
 */

/** One active job as the claim sees it. */
export interface ShareCandidate {
  id: string;
  moduleHash: string;
  /** The job's priority: its weight in the share (at least 1). */
  weight: number;
  /** Live leases the job holds right now, on any volunteer. */
  live: number;
  /** Tasks this volunteer could take from the job now (at most the slots asked for). */
  claimable: number;
  createdAt: number;
}

/** How many leases to take from one job. */
export interface SharePick {
  jobId: string;
  count: number;
}

const byAgeThenId = (a: ShareCandidate, b: ShareCandidate): number =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Splits `slots` leases among the candidates. Returns picks in the order leases were assigned,
 * one entry per job, without zero counts.
 */
export function shareSlots(candidates: readonly ShareCandidate[], slots: number, cached: readonly string[] = []): SharePick[] {
  const held = new Set(cached);
  const jobs = candidates
    .filter((job) => job.claimable > 0)
    .map((job) => ({ job, weight: Math.max(1, job.weight), live: Math.max(0, job.live), left: job.claimable, taken: 0 }))
    .sort((a, b) => byAgeThenId(a.job, b.job));
  const order: string[] = [];
  for (let n = 0; n < Math.floor(slots); n++) {
    let fairest: (typeof jobs)[number] | undefined;
    let fairestKey = Infinity;
    for (const entry of jobs) {
      if (entry.left <= 0) continue;
      const key = (entry.live + 1) / entry.weight;
      if (key < fairestKey) {
        fairest = entry;
        fairestKey = key;
      }
    }
    if (!fairest) break;
    let chosen = fairest;
    if (!held.has(fairest.job.moduleHash)) {
      // The fairest local job whose share stays within one lease of the fairest choice.
      let localKey = Infinity;
      for (const entry of jobs) {
        if (entry.left <= 0 || !held.has(entry.job.moduleHash)) continue;
        const key = (entry.live + 1) / entry.weight;
        if (entry.live / entry.weight <= fairestKey && key < localKey) {
          chosen = entry;
          localKey = key;
        }
      }
    }
    chosen.live += 1;
    chosen.left -= 1;
    chosen.taken += 1;
    if (chosen.taken === 1) order.push(chosen.job.id);
  }
  const taken = new Map(jobs.map((entry) => [entry.job.id, entry.taken]));
  return order.map((jobId) => ({ jobId, count: taken.get(jobId) ?? 0 }));
}

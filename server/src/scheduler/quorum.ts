/**
 * Redundancy and quorum, as pure decisions over a task's replica results.
 *
 * A task of a job with redundancy r and quorum q is first given r replicas, each to a different
 * volunteer. A result is accepted once q results from distinct volunteers carry the same output
 * hash. While no output has q votes, the task wants just enough further replicas for one output
 * to still reach q, up to a cap of results; past the cap it fails as "no quorum".
 *
 * Results from one volunteer count once: the store never leases two replicas of a task to one
 * volunteer, and this module does not trust that alone.
 */

/** One replica's answer: who computed it and the SHA-256 of its output. */
export interface ReplicaResult {
  volunteerId: string;
  outputHash: string;
}

/** What a task needs from its replicas: `quorum` agreeing, from at least `replicas` issued. */
export interface ReplicationTarget {
  /** Replicas a task starts with (the job's redundancy, or 1 for a trusted volunteer's single replica). */
  replicas: number;
  /** Agreeing results from distinct volunteers needed to accept (1 means accept the first result). */
  quorum: number;
}

export type QuorumVerdict =
  | {
      kind: 'accepted';
      outputHash: string;
      /** Volunteers whose result matched the accepted output. */
      agreeing: string[];
      /** Volunteers whose result differed from it. */
      disagreeing: string[];
    }
  | {
      kind: 'waiting';
      /** Replicas the task should have in all (results plus live leases plus ones still to issue). */
      wanted: number;
    }
  | { kind: 'no_quorum'; message: string };

/**
 * Most results a task may collect before it fails as "no quorum": room for every one of its
 * first `replicas` to be outvoted once more, plus one tie-breaker.
 */
export function maxResults(target: ReplicationTarget): number {
  return Math.max(target.quorum, 2 * target.replicas + 1);
}

/** Distinct volunteers per output hash, in order of each hash's first appearance. */
function votesByHash(results: readonly ReplicaResult[]): Map<string, string[]> {
  const votes = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const result of results) {
    if (seen.has(result.volunteerId)) continue;
    seen.add(result.volunteerId);
    const voters = votes.get(result.outputHash);
    if (voters) voters.push(result.volunteerId);
    else votes.set(result.outputHash, [result.volunteerId]);
  }
  return votes;
}

/** Judges a task's results so far against its target. */
export function judge(results: readonly ReplicaResult[], target: ReplicationTarget): QuorumVerdict {
  const quorum = Math.max(1, target.quorum);
  const votes = votesByHash(results);
  let best = 0;
  for (const [outputHash, voters] of votes) {
    if (voters.length >= quorum) {
      const disagreeing = [...votes].filter(([hash]) => hash !== outputHash).flatMap(([, v]) => v);
      return { kind: 'accepted', outputHash, agreeing: [...voters], disagreeing };
    }
    best = Math.max(best, voters.length);
  }
  const counted = [...votes.values()].reduce((n, voters) => n + voters.length, 0);
  const cap = maxResults(target);
  // The fewest results after which some output could have `quorum` votes.
  const needed = counted + (quorum - best);
  if (needed > cap) {
    const outputs = votes.size;
    return {
      kind: 'no_quorum',
      message:
        `no quorum: ${counted} results from distinct volunteers gave ${outputs} different outputs, ` +
        `the most agreeing was ${best} of the ${quorum} needed, and the task may collect at most ${cap} results`,
    };
  }
  return { kind: 'waiting', wanted: Math.max(target.replicas, needed) };
}

/**
 * The state of a task that is still open: `pending` while it wants more replicas than it has
 * results and live leases (a volunteer may claim it), `running` while it only waits for them.
 */
export function openTaskState(task: { live: number; results: number; wanted: number }): 'pending' | 'running' {
  return task.live + task.results < task.wanted ? 'pending' : 'running';
}

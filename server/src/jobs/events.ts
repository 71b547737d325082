/**
 * The in-process hub between the scheduler and the result streams that follow a job: the
 * scheduler says "something in job J settled, or J ended"; each follower of J is woken and reads
 * from the store what it has not sent yet. No follower polls.
 */

export interface JobEvents {
  /** A task of the job settled, or the job ended (closed and settled, or cancelled). */
  notify(jobId: string): void;
  /** Calls `wake` at each notification for the job until the returned disposer runs. */
  subscribe(jobId: string, wake: () => void): () => void;
  /** Followers of the job now (a follower that left counts no more). */
  followers(jobId: string): number;
}

export function createJobEvents(): JobEvents {
  const listeners = new Map<string, Set<() => void>>();
  return {
    notify(jobId) {
      for (const wake of listeners.get(jobId) ?? []) wake();
    },
    subscribe(jobId, wake) {
      let set = listeners.get(jobId);
      if (!set) listeners.set(jobId, (set = new Set()));
      set.add(wake);
      return () => {
        set.delete(wake);
        if (set.size === 0 && listeners.get(jobId) === set) listeners.delete(jobId);
      };
    },
    followers(jobId) {
      return listeners.get(jobId)?.size ?? 0;
    },
  };
}

/**
 * Events between the nodes of a cluster, carried by the Socket.IO adapter's server-side emits
 * (PostgreSQL NOTIFY underneath): "work appeared" (wake your idle volunteers) and "tasks of job J
 * settled" (wake your result followers of J). Both are hints that make a node read the store; they
 * are coalesced over a short window so a burst of results costs a few notifications, not one each.
 */

/** The part of a Socket.IO namespace the bus uses (`serverSideEmit` crosses to the other nodes). */
export interface ServerSideChannel {
  serverSideEmit(event: string, ...args: unknown[]): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface ClusterBusHandlers {
  /** Another node saw work appear: wake this node's idle volunteers. */
  work(): void;
  /** Another node settled tasks of these jobs: wake this node's followers of them. */
  settled(jobIds: string[]): void;
}

export interface ClusterBus {
  /** Tells the other nodes that work appeared. */
  workAppeared(): void;
  /** Tells the other nodes that tasks of `jobId` settled (or the job ended). */
  settled(jobId: string): void;
  /** Sends what is pending now and stops coalescing. */
  close(): void;
}

export const WORK_EVENT = 'sparecycles:work';
export const SETTLED_EVENT = 'sparecycles:settled';
/** How long hints wait to be sent together. */
export const COALESCE_MS = 20;
/** Most job ids in one settled notification (a NOTIFY payload is bounded). */
const MAX_JOBS_PER_MESSAGE = 100;

const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

export function createClusterBus(channel: ServerSideChannel, handlers: ClusterBusHandlers, coalesceMs = COALESCE_MS): ClusterBus {
  let work = false;
  const jobs = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;

  function flush(): void {
    timer = undefined;
    if (work) channel.serverSideEmit(WORK_EVENT);
    work = false;
    const ids = [...jobs];
    jobs.clear();
    for (let at = 0; at < ids.length; at += MAX_JOBS_PER_MESSAGE) channel.serverSideEmit(SETTLED_EVENT, ids.slice(at, at + MAX_JOBS_PER_MESSAGE));
  }

  function schedule(): void {
    if (closed) return flush();
    timer ??= setTimeout(flush, coalesceMs);
  }

  // Peers are nodes of the same deployment, but a payload is still checked before it is used.
  channel.on(WORK_EVENT, () => handlers.work());
  channel.on(SETTLED_EVENT, (ids: unknown) => {
    if (!Array.isArray(ids)) return;
    const valid = ids.filter((id): id is string => typeof id === 'string' && JOB_ID.test(id));
    if (valid.length > 0) handlers.settled(valid);
  });

  return {
    workAppeared() {
      work = true;
      schedule();
    },
    settled(jobId) {
      jobs.add(jobId);
      schedule();
    },
    close() {
      if (timer) clearTimeout(timer);
      closed = true;
      flush();
    },
  };
}

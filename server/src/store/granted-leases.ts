/**
 * Leases a claim just granted whose rows are not written yet, with their task's view, on a store
 * with one writer (SQLite): leases of fresh tasks that want one replica (r = 1, or a trusted
 * volunteer's single replica under adaptive replication). Most such leases end soon by a lone
 * result (`lone-results.ts`), which then writes the lease's row once, ended, instead of inserting
 * it at the grant and updating it at the result, and reads neither the lease nor its task.
 *
 * These entries are the only record of their leases, so nothing may miss them:
 * - The claim's own reads of leases (a volunteer's held leases, each job's live ones) add them.
 * - Every other verb of the store (a release, an expiry, an adoption, a cancel, and anything a
 *   future verb may do) is bracketed by `begin` and `end` (`bracketWrites`): it first writes every
 *   entry as a live row (`flush`), and while one runs no claim adds any. The one-by-one path of
 *   answers writes them too, inside its transaction, before it reads one of them or ends a lease
 *   (`answers.ts`).
 * - A transaction that rolls back undoes what it did here (`journal`): its claims' entries go,
 *   entries it took or wrote come back.
 * - A process killed with entries in memory leaves their tasks counted live without a row: the
 *   store releases those at its next start, uncounted (`lease-rows.ts`).
 *
 * What an entry remembers is what the claim wrote, and it stays true while only claims and lone
 * results run: a claim takes other tasks (fresh ones; a remembered task is running), and a lone
 * result ends its own lease and task and nothing else.
 */
import type { LeaseRow, TaskViewRow } from './lease-endings.ts';

/** A lease as `lone-results.ts` reads it, without its output. */
export type GrantedLease = Omit<LeaseRow, 'output'>;

export interface Granted {
  lease: GrantedLease;
  task: TaskViewRow;
}

/** Entries beyond which a claim writes its leases' rows at once. */
export const GRANTED_MAX = 100_000;

/** A step of the open transaction, to undo if it rolls back. */
type Step = { added: string } | { removed: Granted };

export interface GrantedLeases {
  /** Keeps `granted` unwritten (true), or says its claim must write its row now (false). */
  remember(granted: Granted): boolean;
  /** The unwritten lease `leaseId`, taken: whoever takes it writes its row (or `putBack`s it). */
  take(leaseId: string): Granted | undefined;
  /** Whether `leaseId` is an unwritten lease. */
  has(leaseId: string): boolean;
  /** Gives back an entry taken in the same transaction and not written. */
  putBack(granted: Granted): void;
  /** Every entry, taken: the caller writes their rows as live leases. */
  takeAll(): Granted[];
  /** Live leases held by `volunteerId` that are unwritten. */
  heldBy(volunteerId: string): readonly GrantedLease[];
  /** Unwritten live leases of `jobId`. */
  liveOf(jobId: string): number;
  size(): number;
  /**
   * Whether an entry may exist by the time a transaction queued now runs: one exists, or the open
   * transaction took some (it may put them back, or roll back). False means none can: while a
   * verb runs none is added.
   */
  mayHoldAny(): boolean;
  /** A verb that may read or change leases, tasks or jobs otherwise starts (after it, `flush`). */
  begin(): void;
  /** ... and ended (whether it succeeded or not). */
  end(): void;
  /** The transaction the store's connection runs: its start, its commit, its rollback. */
  journal: { begun(): void; committed(): void; rolledBack(): void };
}

export function createGrantedLeases(): GrantedLeases {
  const entries = new Map<string, Granted>();
  const byVolunteer = new Map<string, Map<string, GrantedLease>>();
  const perJob = new Map<string, number>();
  let running = 0;
  let steps: Step[] = [];

  const add = (granted: Granted): void => {
    const { lease } = granted;
    entries.set(lease.id, granted);
    let held = byVolunteer.get(lease.volunteer_id);
    if (!held) byVolunteer.set(lease.volunteer_id, (held = new Map()));
    held.set(lease.id, lease);
    perJob.set(lease.job_id, (perJob.get(lease.job_id) ?? 0) + 1);
  };
  const remove = (granted: Granted): void => {
    const { lease } = granted;
    entries.delete(lease.id);
    const held = byVolunteer.get(lease.volunteer_id);
    held?.delete(lease.id);
    if (held?.size === 0) byVolunteer.delete(lease.volunteer_id);
    const live = (perJob.get(lease.job_id) ?? 1) - 1;
    if (live > 0) perJob.set(lease.job_id, live);
    else perJob.delete(lease.job_id);
  };
  const added = (granted: Granted): void => {
    add(granted);
    steps.push({ added: granted.lease.id });
  };
  const removed = (granted: Granted): void => {
    remove(granted);
    steps.push({ removed: granted });
  };

  return {
    remember(granted) {
      if (running > 0 || entries.size >= GRANTED_MAX) return false;
      added(granted);
      return true;
    },
    take(leaseId) {
      const granted = entries.get(leaseId);
      if (granted) removed(granted);
      return granted;
    },
    has: (leaseId) => entries.has(leaseId),
    putBack: added,
    takeAll() {
      const all = [...entries.values()];
      for (const granted of all) removed(granted);
      return all;
    },
    heldBy: (volunteerId) => [...(byVolunteer.get(volunteerId)?.values() ?? [])],
    liveOf: (jobId) => perJob.get(jobId) ?? 0,
    size: () => entries.size,
    mayHoldAny: () => entries.size > 0 || steps.some((step) => 'removed' in step),
    begin() {
      running++;
    },
    end() {
      running--;
    },
    journal: {
      begun() {
        steps = [];
      },
      committed() {
        steps = [];
      },
      rolledBack() {
        // Newest first: an entry added and then written in the same transaction ends absent.
        for (const step of steps.reverse()) {
          if ('added' in step) {
            const granted = entries.get(step.added);
            if (granted) remove(granted);
          } else add(step.removed);
        }
        steps = [];
      },
    },
  };
}

/** The store's verbs that only read no lease, or are the hot path itself (which keeps these entries true): not bracketed. */
const UNBRACKETED = new Set([
  'getModule',
  'getModuleMeta',
  'findKeyByHash',
  'listKeys',
  'getSite',
  'getJob',
  'countActiveJobs',
  'getJobState',
  'listResults',
  'listJobs',
  'listSettled',
  'getVolunteer',
  'claimTasks',
  'answerBatch',
  // One answer alone, which writes the entries itself when it must (`answers.ts`).
  'completeLease',
  'failLease',
  'close',
]);

/**
 * `store` with every verb not listed above bracketed: `granted.begin()`, then `flush()` (every
 * entry written), the verb, and `granted.end()`. A verb added later is bracketed unless it is
 * listed, so forgetting to list it costs speed, never a lease.
 */
export function bracketWrites<S extends object>(store: S, granted: GrantedLeases, flush: () => Promise<void>): S {
  const wrapped = { ...store } as Record<string, unknown>;
  for (const [name, verb] of Object.entries(store)) {
    if (typeof verb !== 'function' || UNBRACKETED.has(name)) continue;
    wrapped[name] = async (...args: unknown[]) => {
      granted.begin();
      try {
        await flush();
        return await (verb as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        granted.end();
      }
    };
  }
  return wrapped as S;
}

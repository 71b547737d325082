/**
 * Leases a claim just granted, remembered with their task's view, so that a lone result
 * (`lone-results.ts`) on a store with one writer (SQLite) reads neither its lease nor its task:
 * those two reads were most of what a batch of results read.
 *
 * What it remembers is what the claim wrote, and it stays true while only claims and lone results
 * run: a claim takes other tasks (fresh ones, or one wanting another replica, whose other leases
 * are not remembered as lone), and a lone result ends its own lease and task and nothing else. So
 * every other verb of the store (a release, an expiry, an adoption, a cancel, and anything a future
 * verb may do) is bracketed by `begin` and `end`: while one runs nothing remembered is used, and
 * when it ends everything remembered is forgotten. A failure or a result left to the one-by-one
 * path forgets everything first, inside its transaction (`answers.ts`), and so does a transaction
 * that remembered or used entries and rolled back (`clear`).
 */
import type { LeaseRow, TaskViewRow } from './lease-endings.ts';

/** A lease as `lone-results.ts` reads it, without its output. */
export type GrantedLease = Omit<LeaseRow, 'output'>;

export interface Granted {
  lease: GrantedLease;
  task: TaskViewRow;
}

/** Entries beyond which the oldest are dropped: leases never answered are forgotten at the next `end` anyway. */
export const GRANTED_MAX = 100_000;

export interface GrantedLeases {
  remember(granted: Granted): void;
  /** What was remembered of `leaseId`, once, if nothing else has run since. */
  take(leaseId: string): Granted | undefined;
  /** A verb that may change leases, tasks or jobs otherwise starts. */
  begin(): void;
  /** ... and ended (whether it succeeded or not). */
  end(): void;
  /** Something remembered may be untrue now (a rollback, or a write of another kind in a batch). */
  clear(): void;
}

export function createGrantedLeases(): GrantedLeases {
  const entries = new Map<string, Granted>();
  let running = 0;
  return {
    remember(granted) {
      if (running > 0) return;
      if (entries.size >= GRANTED_MAX) entries.delete(entries.keys().next().value!);
      entries.set(granted.lease.id, granted);
    },
    take(leaseId) {
      const granted = entries.get(leaseId);
      if (granted === undefined) return undefined;
      entries.delete(leaseId);
      return running > 0 ? undefined : granted;
    },
    begin() {
      running++;
      entries.clear();
    },
    end() {
      running--;
      entries.clear();
    },
    clear() {
      entries.clear();
    },
  };
}

/** The store's verbs that only read, or are the hot path itself (which keeps this memory true): not bracketed. */
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
  'sessionsWithLeases',
  'getVolunteer',
  'claimTasks',
  'answerBatch',
  // One answer by the one-by-one path, which forgets everything remembered first (`answers.ts`).
  'completeLease',
  'failLease',
  'close',
]);

/**
 * `store` with every verb not listed above bracketed by `granted.begin()` and `granted.end()`: a
 * verb added later is bracketed unless it is listed, so forgetting to list it costs speed, never
 * fencing.
 */
export function bracketWrites<S extends object>(store: S, granted: GrantedLeases): S {
  const wrapped = { ...store } as Record<string, unknown>;
  for (const [name, verb] of Object.entries(store)) {
    if (typeof verb !== 'function' || UNBRACKETED.has(name)) continue;
    wrapped[name] = async (...args: unknown[]) => {
      granted.begin();
      try {
        return await (verb as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        granted.end();
      }
    };
  }
  return wrapped as S;
}

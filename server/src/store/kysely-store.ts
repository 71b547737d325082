/**
 * The one implementation of `Store`, written against Kysely. Dialect differences come in through
 * `DialectCapabilities`; every verb that changes more than one row runs in one transaction.
 *
 * Task states: pending ──claim──▶ running ──result──▶ completed
 *                                  running ──fail/expire──▶ pending | failed (attempts >= max)
 *                                  running ──release──▶ pending (attempt not counted, unless a crash streak)
 *                                  pending | running ──cancel──▶ cancelled
 * Job states:  staging ──inputs committed──▶ active (a streamed job; `job-inputs.ts`);
 *              active (closed) ──last task terminal──▶ completed;  active ──close──▶ the same check;
 *              active ──cancel──▶ cancelled.
 * (Lease states: see the lifecycle in `store.ts`.)
 *
 * `pending` means the task wants another replica (a volunteer may claim it); `running` that all
 * the replicas it wants are live or answered.
 *
 * The verbs live with their aggregate, one file each: `module-store.ts`, `key-store.ts`,
 * `site-store.ts`, `job-store.ts`, `lease-store.ts` (claims in `claims.ts`, lease endings: results,
 * quorum, failures, releases, in `lease-endings.ts`) and `volunteer-store.ts`. This file only
 * assembles them.
 */
import type { Kysely, SqliteDatabase } from 'kysely';
import { DEFAULT_QUOTA, type QuotaLimits } from '../scheduler/reputation.ts';
import type { DialectCapabilities } from './capabilities.ts';
import type { StoreContext } from './db.ts';
import { createFreshTaskPool } from './fresh-tasks.ts';
import { bracketWrites, createGrantedLeases } from './granted-leases.ts';
import { jobStore } from './job-store.ts';
import { keyStore } from './key-store.ts';
import { writeUnwritten } from './lease-rows.ts';
import { leaseStore } from './lease-store.ts';
import { moduleStore } from './module-store.ts';
import { queryRunner } from './prepared.ts';
import type { Database } from './schema.ts';
import { siteStore } from './site-store.ts';
import type { Store } from './store.ts';
import { volunteerStore } from './volunteer-store.ts';

/** Options of `createKyselyStore`. */
export interface KyselyStoreOptions {
  /** Called by `close()` after the Kysely instance is destroyed (e.g. to remove temp files). */
  onClose?: () => Promise<void> | void;
  /** Bounds of volunteers' concurrent-lease quotas (default `DEFAULT_QUOTA`). */
  quota?: QuotaLimits;
  /** The SQLite handle under `db`, so prepared statements in a transaction run on it directly. */
  sqlite?: SqliteDatabase;
  /** Where the driver tells of each transaction's start and end (SQLite), for the unwritten grants' journal. */
  transactionListeners?: TransactionListener[];
}

/** Hears of the connection's transactions (`sqlite.ts`'s driver tells). */
export interface TransactionListener {
  begun(): void;
  committed(): void;
  rolledBack(): void;
}

/** Builds the store over a migrated database. `close()` destroys the Kysely instance. */
export function createKyselyStore(db: Kysely<Database>, caps: DialectCapabilities, options: KyselyStoreOptions = {}): Store {
  const runner = queryRunner(db, options.sqlite);
  // Tasks read ahead and leases remembered must see every write: only with one writer (no row locks).
  // Unwritten grants also need the driver's word on every transaction, to undo a rolled-back one's steps.
  const listeners = options.transactionListeners;
  const memory = caps.rowLocks || !listeners ? undefined : { freshTasks: createFreshTaskPool(), granted: createGrantedLeases() };
  if (memory) listeners!.push(memory.granted.journal);
  const ctx: StoreContext = { caps, quota: options.quota ?? DEFAULT_QUOTA, run: runner.run, ...memory };
  // Every unwritten grant written as a live lease, in a transaction of its own (which runs after
  // the open one, so it also writes what that one may give back).
  const flush = async (): Promise<void> => {
    if (ctx.granted?.mayHoldAny()) await db.transaction().execute((trx) => writeUnwritten(trx, ctx));
  };
  let closed: Promise<void> | undefined;
  const store: Store = {
    ...moduleStore(db),
    ...keyStore(db),
    ...siteStore(db, ctx),
    ...jobStore(db, caps),
    ...leaseStore(db, ctx),
    ...volunteerStore(db, ctx),
    close() {
      closed ??= (async () => {
        // No grant is kept unwritten from here on: the flush writes the last ones.
        ctx.granted?.begin();
        try {
          await flush();
        } finally {
          try {
            await db.destroy();
          } finally {
            await options.onClose?.();
          }
        }
      })();
      return closed;
    },
  };
  return memory ? bracketWrites(store, memory.granted, flush) : store;
}

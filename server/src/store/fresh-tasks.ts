/**
 * Fresh tasks (no live replica, no result, no counted attempt), read ahead per job in index order,
 * so a claim on a store with one writer (SQLite) finds its candidates without a query. The claim's
 * candidate pick (`claims.ts`) was its costliest statement: an index scan, a row read and a probe
 * of the volunteer's replicas per task. A fresh task has no active or completed lease of any
 * volunteer to probe (at most released ones), and most tasks of a job at r = 1 are fresh.
 *
 * What the pool of a job vouches for: every pending task of the job below `coveredTo` is in
 * `rows` (from `head` on), and each of them is fresh. Then the pool's first tasks are exactly the
 * ones the pick would return, for any volunteer. The pool keeps that true by itself for the claims
 * it answers (they take its first tasks). Everything else that makes a task pending (a release,
 * an expiry, a failure, a quorum's disagreement) must call `forget` for its job, and a
 * transaction that took tasks from the pool and then rolled back must call `clear`. The one
 * writer of tasks that reopens them is `writeTask` (`lease-endings.ts`), which does; the contract
 * suites fail when it does not. (Clearing the pools after every other store verb as well was
 * tried: the sweep's expiries, every second or so, then made each next claim read up to 128 rows
 * per job, and an honest volunteer under the silent flood fell to 0.44 of its control in the
 * flood figure.) A job no longer active with work is dropped at the next claim (cancelled tasks
 * are never asked for again).
 *
 * Where the pool cannot vouch for enough tasks (a pending task that is not fresh lies within
 * reach), the claim reads the database as before; a job found so is not read ahead again for its
 * next `STUCK_CLAIMS` claims (at r >= 2 every claim leaves such a task behind).
 *
 * Memory: a refill reads at most what the claim needs plus as many rows as the pools' shared byte
 * budget allows; after a claim, a job's pool is dropped while all pools hold more than that budget.
 */

/** A task as the claim reads it. */
export interface FreshTaskRow {
  job_id: string;
  idx: number;
  input: Uint8Array;
  live: number;
  results: number;
  wanted: number;
  needed: number;
  attempts: number;
  /** The task's history, for the view its lease's result reads (`granted-leases.ts`). */
  errors: string | null;
  failures: number;
  releases: number;
}

/** Reads up to `limit` pending tasks of `jobId` with `from <= idx < below`, in index order. */
export type ReadPending = (jobId: string, from: number, below: number, limit: number) => Promise<FreshTaskRow[]>;

/** Most rows read per refill (fewer while inputs are large: the pools' bytes stay bounded). */
export const REFILL_ROWS = 128;
/** Most tasks one job's pool reads ahead. */
export const POOL_ROWS = 1024;
/** Input bytes all jobs' pools may hold (checked at each claim's first candidates and after each take). */
export const POOL_BYTES = 16 * 1024 * 1024;
/** Claims of a job that go to the database after the pool found a task it cannot vouch for. */
export const STUCK_CLAIMS = 64;

interface JobPool {
  rows: FreshTaskRow[];
  head: number;
  bytes: number;
  /** Every pending task below this index is in `rows[head..]`. */
  coveredTo: number;
  /** A pending task that is not fresh sits at `coveredTo`: reading on cannot help. */
  stuck: boolean;
  /** Rows and input bytes read so far: how many rows the next refill may read. */
  readRows: number;
  readBytes: number;
}

const isFresh = (row: FreshTaskRow): boolean => Number(row.live) === 0 && Number(row.results) === 0 && Number(row.attempts) === 0;

export interface FreshTaskPool {
  /**
   * The first `limit` tasks of `jobId` below `taskCount` a claim may take, as the database's pick
   * would return them, or `undefined` when the pool cannot vouch for them (read the database).
   */
  candidates(jobId: string, taskCount: number, limit: number, read: ReadPending): Promise<FreshTaskRow[] | undefined>;
  /** The claim took these tasks of `jobId` (the first the pool offered); `leftPending`: one still wants replicas. */
  taken(jobId: string, idxs: readonly number[], leftPending: boolean): void;
  /** Drops every job's pool but those of `activeJobIds` (the active jobs with work). */
  keepOnly(activeJobIds: readonly string[]): void;
  /** A task of `jobId` became pending outside the pool's claims. */
  forget(jobId: string): void;
  /** A transaction that may have taken tasks from the pool rolled back. */
  clear(): void;
}

export function createFreshTaskPool(): FreshTaskPool {
  const pools = new Map<string, JobPool>();
  /** Claims left before a job found stuck is read ahead again. */
  const stuckFor = new Map<string, number>();
  /** Input bytes all pools hold. */
  let held = 0;

  const available = (pool: JobPool): number => pool.rows.length - pool.head;
  function drop(jobId: string): void {
    const pool = pools.get(jobId);
    if (!pool) return;
    held -= pool.bytes;
    pools.delete(jobId);
  }
  function dropAll(): void {
    pools.clear();
    held = 0;
  }

  async function refill(jobId: string, pool: JobPool, taskCount: number, limit: number, read: ReadPending): Promise<void> {
    while (available(pool) < limit && !pool.stuck && pool.coveredTo < taskCount && available(pool) < POOL_ROWS && (pool.readRows === 0 || held < POOL_BYTES)) {
      if (pool.head > 0) {
        pool.rows = pool.rows.slice(pool.head);
        pool.head = 0;
      }
      // The first read takes what the claim needs; later ones as many as the inputs seen so far allow.
      const perRow = pool.readRows === 0 ? POOL_BYTES : Math.max(1, pool.readBytes / pool.readRows);
      const want = pool.readRows === 0 ? limit : Math.max(1, Math.min(REFILL_ROWS, Math.floor((POOL_BYTES - held) / perRow)));
      const rows = await read(jobId, pool.coveredTo, taskCount, want);
      // Cleared while reading (a rolled-back transaction's late forgetting): count nothing for it.
      if (pools.get(jobId) !== pool) return;
      for (const row of rows) {
        pool.readRows++;
        pool.readBytes += row.input.byteLength;
        if (!isFresh(row)) {
          pool.coveredTo = Number(row.idx);
          pool.stuck = true;
          return;
        }
        pool.rows.push(row);
        pool.bytes += row.input.byteLength;
        held += row.input.byteLength;
        pool.coveredTo = Number(row.idx) + 1;
      }
      if (rows.length < want) pool.coveredTo = taskCount;
    }
  }

  return {
    async candidates(jobId, taskCount, limit, read) {
      // Rows a claim read but did not take (its grant went to other jobs) count too.
      if (held > POOL_BYTES) dropAll();
      const stuck = stuckFor.get(jobId);
      if (stuck !== undefined) {
        if (stuck > 1) stuckFor.set(jobId, stuck - 1);
        else stuckFor.delete(jobId);
        return undefined;
      }
      let pool = pools.get(jobId);
      if (!pool) {
        pool = { rows: [], head: 0, bytes: 0, coveredTo: 0, stuck: false, readRows: 0, readBytes: 0 };
        pools.set(jobId, pool);
      }
      await refill(jobId, pool, taskCount, limit, read);
      if (pools.get(jobId) !== pool) return undefined;
      if (available(pool) >= limit || (!pool.stuck && pool.coveredTo >= taskCount)) return pool.rows.slice(pool.head, pool.head + limit);
      // The database's pick takes the first tasks, which may be this pool's: it vouches no more.
      // Only a task that is not fresh keeps the job away; a byte budget spent is tried again next claim.
      drop(jobId);
      if (pool.stuck) stuckFor.set(jobId, STUCK_CLAIMS);
      return undefined;
    },
    taken(jobId, idxs, leftPending) {
      const pool = pools.get(jobId);
      if (!pool) return;
      const prefix = idxs.every((idx, n) => Number(pool.rows[pool.head + n]?.idx) === idx);
      // A task left pending (another replica wanted) is no longer fresh, and it sits before the
      // pool's first task: the pool no longer vouches for the job.
      if (!prefix || leftPending) {
        drop(jobId);
        if (leftPending) stuckFor.set(jobId, STUCK_CLAIMS);
        return;
      }
      for (let n = 0; n < idxs.length; n++) {
        const bytes = pool.rows[pool.head + n]!.input.byteLength;
        pool.bytes -= bytes;
        held -= bytes;
      }
      pool.head += idxs.length;
      if (held > POOL_BYTES) drop(jobId);
    },
    keepOnly(activeJobIds) {
      if (pools.size === 0 && stuckFor.size === 0) return;
      const active = new Set(activeJobIds);
      for (const jobId of [...pools.keys()]) if (!active.has(jobId)) drop(jobId);
      for (const jobId of stuckFor.keys()) if (!active.has(jobId)) stuckFor.delete(jobId);
    },
    forget: drop,
    clear: dropAll,
  };
}

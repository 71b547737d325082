/**
 * What differs between the SQL dialects the store runs on, kept in one small object so the
 * store itself is written once against Kysely.
 */
export interface DialectCapabilities {
  /** Name used in messages and logs. */
  name: 'sqlite' | 'postgres';
  /** Column type for binary data (`blob` in SQLite, `bytea` in PostgreSQL). */
  binaryType: 'blob' | 'bytea';
  /**
   * Whether a claim can lock candidate rows with `FOR UPDATE SKIP LOCKED` so concurrent
   * coordinators never take the same task. SQLite has a single writer (every transaction
   * begins IMMEDIATE), so it needs no row locks.
   */
  skipLocked: boolean;
  /**
   * Whether concurrent writers exist, so a transaction that decides from other rows (is any task
   * of this job still open?) must first lock the job row with `FOR UPDATE`. False for SQLite,
   * whose single writer already serialises those decisions.
   */
  rowLocks: boolean;
  /** Most bind parameters one statement may carry; batch inserts stay below it. */
  maxParameters: number;
}

/** SQLite through better-sqlite3 (SQLite >= 3.32 allows 32766 parameters). */
export const SQLITE_CAPABILITIES: DialectCapabilities = Object.freeze({
  name: 'sqlite',
  binaryType: 'blob',
  skipLocked: false,
  rowLocks: false,
  maxParameters: 32_766,
});

/** PostgreSQL through pg (the wire protocol allows 65535 parameters). */
export const POSTGRES_CAPABILITIES: DialectCapabilities = Object.freeze({
  name: 'postgres',
  binaryType: 'bytea',
  skipLocked: true,
  rowLocks: true,
  maxParameters: 65_535,
});

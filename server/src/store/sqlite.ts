/**
 * The default store: one SQLite file through better-sqlite3, in WAL mode.
 *
 * SQLite has a single writer. Every transaction begins IMMEDIATE, taking the write lock up front,
 * so a claim's read-then-write can never fail half way with SQLITE_BUSY when a second process
 * (a CLI, a backup) touches the same file; `busy_timeout` makes such a process wait its turn.
 * Within this process Kysely's SQLite driver already serialises everything on one connection.
 * One store per file, in one process: the store keeps state in memory that is true only with one
 * writer, so a second store on the same file, in this process or another, is refused at open
 * (`ownDatabase`).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDatabase, type SqliteDialectConfig } from 'kysely';
import type { QuotaLimits } from '../scheduler/reputation.ts';
import { SQLITE_CAPABILITIES } from './capabilities.ts';
import { FifoLock } from './fifo-lock.ts';
import { createKyselyStore, type TransactionListener } from './kysely-store.ts';
import { releaseLostGrants } from './lease-rows.ts';
import { migrateToLatest } from './migrations/index.ts';
import type { Database as Schema } from './schema.ts';
import type { Store } from './store.ts';

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** Path of the database file (its directory is created), or `:memory:`. */
  file: string;
  /** How long a statement waits for another process's write lock, in ms (default 5000). */
  busyTimeoutMs?: number;
  /**
   * `normal` (default) survives a crash of the process (SIGKILL) and loses at most the last
   * transactions on power loss; `full` also survives power loss at the cost of an fsync per commit.
   */
  synchronous?: 'normal' | 'full';
  /** Bounds of volunteers' concurrent-lease quotas (default `DEFAULT_QUOTA`). */
  quota?: QuotaLimits;
}

/** Opens (creating if needed) and migrates a SQLite database, and returns the store over it. */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
  const owner = options.file === ':memory:' ? undefined : ownDatabase(options.file);
  try {
    return await openOwned(options, () => owner?.close());
  } catch (error) {
    owner?.close();
    throw error;
  }
}

/** `openSqliteStore` once this process owns the file; `release` gives it up when the store closes. */
async function openOwned(options: SqliteStoreOptions, release: () => void): Promise<Store> {
  const database = new Database(options.file);
  try {
    database.pragma('journal_mode = WAL');
    database.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
    database.pragma('foreign_keys = ON');
    database.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  } catch (error) {
    database.close();
    throw error;
  }
  const cached = withStatementCache(database, STATEMENT_CACHE_SIZE);
  const transactionListeners: TransactionListener[] = [];
  const db = new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: cached }, transactionListeners) });
  try {
    await migrateToLatest(db, SQLITE_CAPABILITIES);
    // A previous process killed with grants not written yet left their tasks counted live.
    await releaseLostGrants(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return createKyselyStore(db, SQLITE_CAPABILITIES, { sqlite: cached, transactionListeners, onClose: release, ...(options.quota ? { quota: options.quota } : {}) });
}

/**
 * Makes this process the one that writes `file`, for as long as the returned handle is open: a
 * file beside it (`<file>-owner`, a SQLite database of its own) locked exclusively. A second
 * coordinator on the same data directory fails here, before it touches anything: the store keeps
 * state in memory (fresh tasks, grants not written yet) that is true only with one writer, and
 * its start repairs what a killed previous process left. The lock goes with the process, however
 * it ends (the operating system releases it); other readers of `file` itself are not stopped.
 */
function ownDatabase(file: string): Database.Database {
  const owner = new Database(`${file}-owner`);
  try {
    owner.pragma('busy_timeout = 0');
    owner.pragma('locking_mode = EXCLUSIVE');
    // The exclusive lock taken at once (not a read's shared lock first, which two processes
    // starting together would each hold, refusing each other), and kept until close.
    owner.exec('begin exclusive; create table if not exists owner (pid integer not null); delete from owner;');
    owner.prepare('insert into owner (pid) values (?)').run(process.pid);
    owner.exec('commit');
    return owner;
  } catch (error) {
    owner.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(`another process has the SQLite database ${file} open (one coordinator per data directory)`, { cause: error });
    }
    throw error;
  }
}

/**
 * Prepared statements kept per SQL text. Kysely's SQLite driver prepares every query afresh, and
 * preparing cost the coordinator about as much CPU as running the statements (a profile of the
 * throughput benchmark). The store's queries come from a small set of shapes, so a bounded cache
 * hits nearly always. Kysely runs one query at a time on the connection, so a cached statement is
 * never used twice at once.
 */
const STATEMENT_CACHE_SIZE = 256;

export function withStatementCache(database: Database.Database, size: number): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => {
      cache.clear();
      database.close();
    },
    prepare(sql) {
      const cached = cache.get(sql);
      if (cached) return cached;
      const statement = database.prepare(sql);
      // Oldest first out once full: Map keeps insertion order.
      if (cache.size >= size) cache.delete(cache.keys().next().value as string);
      cache.set(sql, statement);
      return statement;
    },
  };
}

/** Kysely's SQLite dialect, with transactions that take the write lock when they begin. */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  readonly #listeners: readonly TransactionListener[];
  constructor(config: SqliteDialectConfig, listeners: readonly TransactionListener[]) {
    super(config);
    this.#config = config;
    this.#listeners = listeners;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config, this.#listeners);
  }
}

/**
 * Kysely's SQLite driver with three changes: a transaction takes the write lock when it begins;
 * the one connection goes to its waiters in turn (`FifoLock`; Kysely's own lock wakes every
 * waiter on each release, a cost quadratic in their number); and `listeners` hear of each
 * transaction's start, commit and rollback while it still holds the connection (a commit that
 * fails is rolled back by Kysely, and heard so).
 */
class ImmediateSqliteDriver extends SqliteDriver {
  readonly #turns = new FifoLock();
  readonly #listeners: readonly TransactionListener[];

  constructor(config: SqliteDialectConfig, listeners: readonly TransactionListener[]) {
    super(config);
    this.#listeners = listeners;
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    await this.#turns.acquire();
    try {
      // Free by now: only the holder of a turn asks for it.
      return await super.acquireConnection();
    } catch (error) {
      this.#turns.release();
      throw error;
    }
  }

  override async releaseConnection(): Promise<void> {
    try {
      await super.releaseConnection();
    } finally {
      this.#turns.release();
    }
  }

  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    for (const listener of this.#listeners) listener.begun();
  }

  override async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await super.commitTransaction(connection);
    for (const listener of this.#listeners) listener.committed();
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await super.rollbackTransaction(connection);
    } finally {
      for (const listener of this.#listeners) listener.rolledBack();
    }
  }
}

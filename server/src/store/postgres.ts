/**
 * The PostgreSQL store: Kysely's PostgresDialect over a `pg` pool, for several coordinator nodes
 * sharing one database. The store's queries are the same as on SQLite (`createKyselyStore`);
 * what differs comes in through `POSTGRES_CAPABILITIES` (bytea, `FOR UPDATE SKIP LOCKED` claims,
 * job rows locked where a transaction decides from other rows).
 *
 * Values at the driver boundary: pg returns int8 (`bigint` columns, `count(*)`) and numeric
 * (`sum` of bigints) as strings, to be exact beyond 2^53. Every such value the store keeps is a
 * millisecond timestamp or a count, far below 2^53, so this pool parses them as numbers; the
 * store never sees a string where SQLite gives a number. bytea comes back as a Buffer, which
 * `bytes.ts` turns into a Uint8Array.
 */
import { PostgresDialect } from 'kysely';
import pg from 'pg';
import { POSTGRES_CAPABILITIES } from './capabilities.ts';
import { createKyselyStore, type KyselyStoreOptions } from './kysely-store.ts';
import { migrateToLatest } from './migrations/index.ts';
import { RetryingKysely } from './postgres-retry.ts';
import type { Database as Schema } from './schema.ts';
import type { Store } from './store.ts';

/** Options of `openPostgresStore`. */
export interface PostgresStoreOptions extends Pick<KyselyStoreOptions, 'quota'> {
  /** `postgres://` or `postgresql://` connection URL. */
  url: string;
  /** Most connections this node holds open (default 10). */
  poolSize?: number;
  /** How long a statement may run before the server cancels it, in ms (default 30,000; 0 = no limit). */
  statementTimeoutMs?: number;
  /** Name shown in `pg_stat_activity` (default `sparecycles`). */
  applicationName?: string;
}

/** OIDs of the types this pool parses as numbers. */
const INT8_OID = 20;
const NUMERIC_OID = 1700;

/** pg's default parsers, except int8 and numeric as JavaScript numbers (see the module comment). */
export const POSTGRES_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Whether a string is a PostgreSQL connection URL (`postgres://` or `postgresql://`). */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\/\S+$/.test(url);
}

/** The URL without its password, for messages and logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

/** Opens a pool on the database, brings its schema to the latest migration, and returns the store. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  if (!isPostgresUrl(options.url)) throw new Error('a PostgreSQL store needs a postgres:// or postgresql:// URL');
  const pool = new pg.Pool({
    connectionString: options.url,
    max: Math.max(1, Math.floor(options.poolSize ?? 10)),
    types: POSTGRES_TYPES,
    application_name: options.applicationName ?? 'sparecycles',
    statement_timeout: options.statementTimeoutMs ?? 30_000,
  });
  // An idle client's connection can drop (server restart); the pool replaces it, so only log-free ignore here.
  pool.on('error', () => undefined);
  // Several nodes take the same rows: a deadlock or serialization failure aborts one transaction,
  // which runs again (`postgres-retry.ts`).
  const db = new RetryingKysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  try {
    await migrateToLatest(db, POSTGRES_CAPABILITIES);
  } catch (error) {
    await db.destroy();
    throw new Error(`cannot open the PostgreSQL database ${redactedUrl(options.url)}: ${(error as Error).message}`, { cause: error });
  }
  const storeOptions: KyselyStoreOptions = {};
  if (options.quota) storeOptions.quota = options.quota;
  return createKyselyStore(db, POSTGRES_CAPABILITIES, storeOptions);
}

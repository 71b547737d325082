/**
 * The coordinator's storage: the `Store` interface, its Kysely implementation and the SQLite
 * and PostgreSQL openers. Other folders import from here only.
 */
export type * from './store.ts';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite.ts';
export { openPostgresStore, redactedUrl, type PostgresStoreOptions } from './postgres.ts';
export { createKyselyStore, type KyselyStoreOptions } from './kysely-store.ts';
export { taskIdOf } from './claims.ts';
export { SQLITE_CAPABILITIES, POSTGRES_CAPABILITIES, type DialectCapabilities } from './capabilities.ts';
export { migrateToLatest, migrations } from './migrations/index.ts';
export { appendTaskError, parseTaskErrors } from './task-history.ts';
export type { Database as StoreSchema } from './schema.ts';

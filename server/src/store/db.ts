/**
 * What every store verb runs against: a Kysely handle (the database or an open transaction) and
 * the store-wide settings (dialect capabilities, quota bounds, the prepared-statement runner).
 */
import type { Compilable, Kysely, Transaction } from 'kysely';
import type { QuotaLimits } from '../scheduler/reputation.ts';
import type { DialectCapabilities } from './capabilities.ts';
import type { FreshTaskPool } from './fresh-tasks.ts';
import type { GrantedLeases } from './granted-leases.ts';
import type { Database } from './schema.ts';

/** A Kysely handle: the database or an open transaction. */
export type Db = Kysely<Database> | Transaction<Database>;

/** What the verbs need besides the database handle. */
export interface StoreContext {
  caps: DialectCapabilities;
  quota: QuotaLimits;
  /** Runs the hot path's prepared statements (`prepared.ts`). */
  run: QueryRunner['run'];
  /** Tasks never leased, read ahead for claims: only where the store is the database's one writer. */
  freshTasks?: FreshTaskPool;
  /** Leases just granted, for their lone results: the same condition (`granted-leases.ts`). */
  granted?: GrantedLeases;
}

/** Names where a statement's values go: `p('id')` stands for `values.id`, typed as the value. */
export type Placeholders<P> = <K extends keyof P & string>(name: K) => P[K];

/** A statement to compile once: `key` names its shape (one compiled form per key and store). */
export interface PreparedQuery<P, O> {
  readonly key: string;
  readonly build: (db: Kysely<Database>, p: Placeholders<P>) => Compilable<O>;
}

/** What a statement returned: its rows (`returning` or a select), and rows changed by a write. */
export interface Ran<O> {
  rows: O[];
  changes: number;
}

/** Runs prepared statements for one store (one database, one dialect). */
export interface QueryRunner {
  run<P, O>(db: Db, query: PreparedQuery<P, O>, values: P): Ran<O> | Promise<Ran<O>>;
}

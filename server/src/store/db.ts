/**
 * What every store verb runs against: a Kysely handle (the database or an open transaction) and
 * the store-wide settings (dialect capabilities, quota bounds, the prepared-statement runner).
 */
import type { Kysely, Transaction } from 'kysely';
import type { QuotaLimits } from '../scheduler/reputation.ts';
import type { DialectCapabilities } from './capabilities.ts';
import type { QueryRunner } from './prepared.ts';
import type { Database } from './schema.ts';

/** A Kysely handle: the database or an open transaction. */
export type Db = Kysely<Database> | Transaction<Database>;

/** What the verbs need besides the database handle. */
export interface StoreContext {
  caps: DialectCapabilities;
  quota: QuotaLimits;
  /** Runs the hot path's prepared statements (`prepared.ts`). */
  run: QueryRunner['run'];
}

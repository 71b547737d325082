/**
 * 000004: volunteers' strikes in a row (disagreements, expired leases) and when the latest one
 * was, for the cool-down of `scheduler/reputation.ts`. Existing volunteers start with none.
 */
import type { Kysely, Migration } from 'kysely';

export function strikesMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('volunteers').addColumn('strikes', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('volunteers').addColumn('struck_at', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
    },
  };
}

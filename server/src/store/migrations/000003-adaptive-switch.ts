/**
 * 000003: a job may refuse adaptive replication (`jobs.adaptive` 0), so every task gets its full
 * redundancy whoever claims it. Jobs written before this migration keep the behaviour they had (1).
 */
import type { Kysely, Migration } from 'kysely';

export function adaptiveSwitchMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('jobs').addColumn('adaptive', 'integer', (c) => c.notNull().defaultTo(1)).execute();
    },
  };
}

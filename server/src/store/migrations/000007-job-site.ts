/**
 * 000007: `jobs.site_key`, the site whose page asked for a one-task job through its `run()` API
 * (null for ordinary jobs), so the run endpoint answers a site only about its own jobs.
 */
import type { Kysely, Migration } from 'kysely';

export function jobSiteMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('jobs').addColumn('site_key', 'text').execute();
    },
  };
}

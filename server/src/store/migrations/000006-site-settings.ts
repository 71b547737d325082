/**
 * 000006: a site's settings (`sites.settings`, JSON of `SiteSettings`; existing sites get `{}`,
 * which reads as every default) and a job's purpose (`jobs.purpose`, shown to volunteers).
 * (000005 is another change's number; Kysely's Migrator runs names in order and does not mind
 * the gap.)
 */
import type { Kysely, Migration } from 'kysely';

export function siteSettingsMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('sites').addColumn('settings', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      await db.schema.alterTable('jobs').addColumn('purpose', 'text').execute();
    },
  };
}

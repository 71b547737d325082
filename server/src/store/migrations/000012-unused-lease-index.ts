/**
 * 000012: drops `leases_site` (site key, state). No statement reads leases by site, and every
 * lease written or ended paid for one more index entry: the result hot path's writes are mostly
 * lease index updates.
 */
import type { Kysely, Migration } from 'kysely';

export function unusedLeaseIndexMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.dropIndex('leases_site').ifExists().execute();
    },
  };
}

/**
 * 000010: the address a lease was taken from (normalised by `socket/address.ts`: IPv4, or an IPv6
 * /64), so a task's failures can be told apart by source (`scheduler/task-evidence.ts`). Leases
 * from before have none: each of their failures counts as a source of its own, as it did.
 */
import type { Kysely, Migration } from 'kysely';

export function leaseAddressMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('leases').addColumn('address', 'text').execute();
    },
  };
}

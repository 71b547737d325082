/**
 * 000008: accounts. `api_keys` holds the keys the operator made for task authors and site owners
 * (only the SHA-256 of each secret); `jobs.owner` and `sites.owner` say whose a record is (a key's
 * id, or `operator`); `module_owners` says who uploaded a module (modules stay content-addressed:
 * two authors uploading the same bytes share one row of `modules` and own it each).
 * What existed before is the operator's: it was all made with the operator's key.
 * (000009 is another change's number.)
 */
import { sql, type Kysely, type Migration } from 'kysely';

/** The owner of every record made before accounts existed (`OPERATOR` in accounts/principal.ts). */
const OPERATOR = 'operator';

export function accountsMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema.alterTable('jobs').addColumn('owner', 'text', (c) => c.notNull().defaultTo(OPERATOR)).execute();
      // The active-jobs limit counts one owner's active jobs.
      await db.schema.createIndex('jobs_owner_state').on('jobs').columns(['owner', 'state']).execute();
      await db.schema.alterTable('sites').addColumn('owner', 'text', (c) => c.notNull().defaultTo(OPERATOR)).execute();
      await db.schema.createIndex('sites_owner').on('sites').column('owner').execute();

      await db.schema
        .createTable('module_owners')
        .addColumn('hash', 'text', (c) => c.notNull().references('modules.hash'))
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('module_owners_pk', ['hash', 'owner'])
        .execute();
      await sql`insert into module_owners (hash, owner, created_at) select hash, ${OPERATOR}, created_at from modules`.execute(db);
    },
  };
}

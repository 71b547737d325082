/**
 * The ordered, forward-only list of migrations, served to Kysely's `Migrator` by a static
 * provider (no directory scanning, so bundling and `tsx` behave alike).
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';
import { initialMigration } from './000001-initial.ts';
import { replicasMigration } from './000002-replicas.ts';
import { adaptiveSwitchMigration } from './000003-adaptive-switch.ts';
import { strikesMigration } from './000004-strikes.ts';
import { siteSettingsMigration } from './000006-site-settings.ts';
import { jobSiteMigration } from './000007-job-site.ts';
import { accountsMigration } from './000008-accounts.ts';
import { streamingMigration } from './000009-streaming.ts';
import { leaseAddressMigration } from './000010-lease-address.ts';
import { nodesMigration } from './000011-nodes.ts';
import { unusedLeaseIndexMigration } from './000012-unused-lease-index.ts';
import { liveLeaseIndexesMigration } from './000013-live-lease-indexes.ts';

/** Every migration by its numbered name; names sort in the order they must run. */
export function migrations(caps: DialectCapabilities): Record<string, Migration> {
  return {
    '000001-initial': initialMigration(caps),
    '000002-replicas': replicasMigration(caps),
    '000003-adaptive-switch': adaptiveSwitchMigration(),
    '000004-strikes': strikesMigration(),
    // 000005 belongs to a change made in parallel; names only need to sort in order, gaps are fine.
    '000006-site-settings': siteSettingsMigration(),
    '000007-job-site': jobSiteMigration(),
    '000008-accounts': accountsMigration(),
    '000009-streaming': streamingMigration(),
    '000010-lease-address': leaseAddressMigration(),
    '000011-nodes': nodesMigration(caps),
    '000012-unused-lease-index': unusedLeaseIndexMigration(),
    '000013-live-lease-indexes': liveLeaseIndexesMigration(),
  };
}

/** A provider that hands Kysely the static list above. */
export function staticMigrationProvider(caps: DialectCapabilities): MigrationProvider {
  return { getMigrations: async () => migrations(caps) };
}

/** Brings the database to the latest migration; running it again is a no-op. */
export async function migrateToLatest(db: Kysely<any>, caps: DialectCapabilities): Promise<string[]> {
  const migrator = new Migrator({ db, provider: staticMigrationProvider(caps) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Sites in the store: registering, reading and changing one. Settings are merged and held to the
 * rules of `sites/settings.ts` inside the transaction that reads the current ones, and a site's run
 * modules must be uploaded (modules are never deleted, so checking at write time holds).
 */
import type { Kysely } from 'kysely';
import { OPERATOR } from '../accounts/principal.ts';
import { CodedError } from '../protocol/errors.ts';
import type { SiteSettings } from '../protocol/http.ts';
import { mergeSiteSettings, siteSettingsProblem } from '../sites/index.ts';
import type { Db, StoreContext } from './db.ts';
import type { Database } from './schema.ts';
import type { NewSite, SiteChange, SiteRecord, Store } from './store.ts';

type SiteRow = Database['sites'];

function toSiteRecord(row: SiteRow): SiteRecord {
  return {
    siteKey: row.site_key,
    name: row.name,
    origins: JSON.parse(row.origins) as string[],
    createdAt: Number(row.created_at),
    owner: row.owner,
    // Rows written before a setting existed read it as its default.
    settings: mergeSiteSettings({}, JSON.parse(row.settings) as Partial<SiteSettings>),
  };
}

/** Refuses settings that break a rule or name a module that was never uploaded (`bad_request`). */
async function checkSettings(trx: Db, settings: SiteSettings): Promise<void> {
  const problem = siteSettingsProblem(settings);
  if (problem) throw new CodedError('bad_request', problem);
  if (settings.runModules.length === 0) return;
  const found = await trx.selectFrom('modules').select('hash').where('hash', 'in', settings.runModules).execute();
  const known = new Set(found.map((row) => row.hash));
  const index = settings.runModules.findIndex((hash) => !known.has(hash));
  if (index >= 0) {
    throw new CodedError('bad_request', `settings/runModules/${index}: no module ${settings.runModules[index]}: upload it first (POST /api/v1/modules)`);
  }
}

/** See `Store.createSite`. */
export async function insertSite(trx: Db, site: NewSite): Promise<SiteRecord> {
  const record: SiteRecord = { ...site, owner: site.owner ?? OPERATOR, settings: mergeSiteSettings(site.settings) };
  await checkSettings(trx, record.settings);
  const result = await trx
    .insertInto('sites')
    .values({
      site_key: record.siteKey,
      name: record.name,
      origins: JSON.stringify(record.origins),
      created_at: record.createdAt,
      settings: JSON.stringify(record.settings),
      owner: record.owner,
    })
    .onConflict((oc) => oc.column('site_key').doNothing())
    .executeTakeFirst();
  if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) {
    throw new CodedError('conflict', `site ${site.siteKey} already exists`);
  }
  return record;
}

/** See `Store.getSite`. */
export async function findSite(db: Db, siteKey: string): Promise<SiteRecord | undefined> {
  const row = await db.selectFrom('sites').selectAll().where('site_key', '=', siteKey).executeTakeFirst();
  return row && toSiteRecord(row);
}

/** See `Store.updateSite`. */
export async function changeSite(trx: Db, ctx: StoreContext, siteKey: string, change: SiteChange): Promise<SiteRecord | undefined> {
  let read = trx.selectFrom('sites').selectAll().where('site_key', '=', siteKey);
  // Two concurrent changes of different settings must not undo each other.
  if (ctx.caps.rowLocks) read = read.forUpdate();
  const row = await read.executeTakeFirst();
  if (!row) return undefined;
  const current = toSiteRecord(row);
  const next: SiteRecord = {
    ...current,
    name: change.name ?? current.name,
    origins: change.origins ?? current.origins,
    settings: mergeSiteSettings(change.settings, current.settings),
  };
  await checkSettings(trx, next.settings);
  await trx
    .updateTable('sites')
    .set({ name: next.name, origins: JSON.stringify(next.origins), settings: JSON.stringify(next.settings) })
    .where('site_key', '=', siteKey)
    .execute();
  return next;
}

/** The site verbs of `Store`. */
export function siteStore(db: Kysely<Database>, ctx: StoreContext): Pick<Store, 'createSite' | 'getSite' | 'updateSite'> {
  return {
    createSite: (site) => db.transaction().execute((trx) => insertSite(trx, site)),
    getSite: (siteKey) => findSite(db, siteKey),
    updateSite: (siteKey, change) => db.transaction().execute((trx) => changeSite(trx, ctx, siteKey, change)),
  };
}

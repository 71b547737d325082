/**
 * Modules in the store: content-addressed bytes (one row per hash) and who uploaded them (one row
 * per hash and owner), so two authors uploading the same bytes each own their upload and neither
 * learns of the other.
 */
import type { Kysely } from 'kysely';
import { OPERATOR } from '../accounts/principal.ts';
import { fromDbBytes, toDbBytes } from './bytes.ts';
import type { Db } from './db.ts';
import type { Database } from './schema.ts';
import type { ModuleMeta, ModuleRecord, Store } from './store.ts';

function toModuleMeta(row: { hash: string; abi: string; size: number; created_at: number }): ModuleMeta {
  return { hash: row.hash, abi: row.abi as ModuleMeta['abi'], size: Number(row.size), createdAt: Number(row.created_at) };
}

/** See `Store.saveModule` (run in one transaction). */
export async function saveModule(trx: Db, module: ModuleRecord, owner = OPERATOR): Promise<{ created: boolean }> {
  await trx
    .insertInto('modules')
    .values({ hash: module.hash, abi: module.abi, size: module.size, bytes: toDbBytes(module.bytes), created_at: module.createdAt })
    .onConflict((oc) => oc.column('hash').doNothing())
    .execute();
  const owned = await trx
    .insertInto('module_owners')
    .values({ hash: module.hash, owner, created_at: module.createdAt })
    .onConflict((oc) => oc.columns(['hash', 'owner']).doNothing())
    .executeTakeFirst();
  return { created: Number(owned.numInsertedOrUpdatedRows ?? 0n) > 0 };
}

/** See `Store.getModule`. */
export async function findModule(db: Db, hash: string): Promise<ModuleRecord | undefined> {
  const row = await db.selectFrom('modules').selectAll().where('hash', '=', hash).executeTakeFirst();
  return row && { ...toModuleMeta(row), bytes: fromDbBytes(row.bytes) };
}

/** See `Store.getModuleMeta`. */
export async function findModuleMeta(db: Db, hash: string, owner?: string): Promise<ModuleMeta | undefined> {
  if (owner === undefined) {
    const row = await db.selectFrom('modules').select(['hash', 'abi', 'size', 'created_at']).where('hash', '=', hash).executeTakeFirst();
    return row && toModuleMeta(row);
  }
  const row = await db
    .selectFrom('module_owners as o')
    .innerJoin('modules as m', 'm.hash', 'o.hash')
    .select(['m.hash', 'm.abi', 'm.size', 'o.created_at'])
    .where('o.hash', '=', hash)
    .where('o.owner', '=', owner)
    .executeTakeFirst();
  return row && toModuleMeta(row);
}

/** The module verbs of `Store`. */
export function moduleStore(db: Kysely<Database>): Pick<Store, 'saveModule' | 'getModule' | 'getModuleMeta'> {
  return {
    saveModule: (module, owner) => db.transaction().execute((trx) => saveModule(trx, module, owner)),
    getModule: (hash) => findModule(db, hash),
    getModuleMeta: (hash, owner) => findModuleMeta(db, hash, owner),
  };
}

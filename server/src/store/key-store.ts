/**
 * Keys in the store: the operator's keys for task authors and site owners. Only the SHA-256 of a
 * secret is kept, so a copy of the database gives no working key; lookups are by that hash.
 */
import type { Kysely } from 'kysely';
import { CodedError } from '../protocol/errors.ts';
import type { KeyRole } from '../protocol/http.ts';
import type { Db } from './db.ts';
import type { Database } from './schema.ts';
import type { KeyRecord, NewKey, Store } from './store.ts';

type KeyRow = Database['api_keys'];

function toKeyRecord(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    role: row.role as KeyRole,
    name: row.name,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/** See `Store.createKey`. */
export async function insertKey(db: Db, key: NewKey): Promise<KeyRecord> {
  const result = await db
    .insertInto('api_keys')
    .values({ id: key.id, role: key.role, name: key.name, secret_hash: key.secretHash, created_at: key.createdAt, revoked_at: null })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst();
  if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) throw new CodedError('conflict', `key ${key.id} already exists`);
  return { id: key.id, role: key.role, name: key.name, createdAt: key.createdAt, revokedAt: null };
}

/** See `Store.findKeyByHash`. */
export async function findKeyByHash(db: Db, secretHash: string): Promise<KeyRecord | undefined> {
  const row = await db.selectFrom('api_keys').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
  return row && toKeyRecord(row);
}

/** See `Store.listKeys`. */
export async function listKeys(db: Db): Promise<KeyRecord[]> {
  const rows = await db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').execute();
  return rows.map(toKeyRecord);
}

/** See `Store.revokeKey`. */
export async function revokeKey(db: Db, id: string, now: number): Promise<KeyRecord | undefined> {
  await db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  return row && toKeyRecord(row);
}

/** The key verbs of `Store`. */
export function keyStore(db: Kysely<Database>): Pick<Store, 'createKey' | 'findKeyByHash' | 'listKeys' | 'revokeKey'> {
  return {
    createKey: (key) => insertKey(db, key),
    findKeyByHash: (secretHash) => findKeyByHash(db, secretHash),
    listKeys: () => listKeys(db),
    revokeKey: (id, now) => db.transaction().execute((trx) => revokeKey(trx, id, now)),
  };
}

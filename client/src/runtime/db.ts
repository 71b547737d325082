/**
 * The runtime's IndexedDB database, in the coordinator's origin (partitioned per embedding site
 * by the browser): module bytes by content hash, the volunteer's own small settings, and the
 * outbox of finished work the coordinator has not yet acknowledged.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { RUNTIME_DB_NAME } from './db-name.ts';
import type { OutboxEntry } from './outbox-entry.ts';

export interface RuntimeSchema extends DBSchema {
  /** Module bytes keyed by lowercase hex SHA-256. */
  modules: { key: string; value: { hash: string; bytes: Uint8Array; storedAt: number } };
  /** Small named values, e.g. `volunteerId`. */
  meta: { key: string; value: string };
  /** Unacknowledged results and failures, keyed by `payload.leaseId` (since version 2). */
  outbox: { key: string; value: OutboxEntry };
}

export type RuntimeDb = IDBPDatabase<RuntimeSchema>;

const VERSION = 2;

/**
 * Opens (creating or upgrading) the runtime's database. Upgrades are forward-only and keep every
 * earlier version's stores, so a version-1 database gains the outbox in place.
 *
 * Another tab of the same site may hold the database open at an older version. This version
 * closes its own connection when a newer one asks (`blocking`); a version-1 page never does, so a
 * blocked upgrade rejects rather than leaving the runtime waiting until that tab goes away (the
 * runtime then works on without the database for this page view).
 */
export function openRuntimeDb(name: string = RUNTIME_DB_NAME): Promise<RuntimeDb> {
  return new Promise((resolve, reject) => {
    let gaveUp = false;
    openDB<RuntimeSchema>(name, VERSION, {
      upgrade(db, oldVersion) {
        // Forward-only, one step per version.
        if (oldVersion < 1) {
          db.createObjectStore('modules', { keyPath: 'hash' });
          db.createObjectStore('meta');
        }
        if (oldVersion < 2) {
          db.createObjectStore('outbox', { keyPath: 'payload.leaseId' });
        }
      },
      blocked() {
        gaveUp = true;
        reject(new Error('the runtime database is held open at an older version by another page of this site'));
      },
      blocking(_current, _next, event) {
        (event.target as IDBDatabase).close();
      },
    }).then((db) => {
      // The other page closed after all: the upgrade ran, but this page already went on without it.
      if (gaveUp) db.close();
      else resolve(db);
    }, reject);
  });
}

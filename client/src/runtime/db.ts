/**
 * The runtime's IndexedDB database, in the coordinator's origin (partitioned per embedding site
 * by the browser): module bytes by content hash, and the volunteer's own small settings.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';

export interface RuntimeSchema extends DBSchema {
  /** Module bytes keyed by lowercase hex SHA-256. */
  modules: { key: string; value: { hash: string; bytes: Uint8Array; storedAt: number } };
  /** Small named values, e.g. `volunteerId`. */
  meta: { key: string; value: string };
}

export type RuntimeDb = IDBPDatabase<RuntimeSchema>;

const NAME = 'sparecycles';
const VERSION = 1;

/** Opens (creating or upgrading) the runtime's database. */
export function openRuntimeDb(): Promise<RuntimeDb> {
  return openDB<RuntimeSchema>(NAME, VERSION, {
    upgrade(db, oldVersion) {
      // Forward-only, one step per version.
      if (oldVersion < 1) {
        db.createObjectStore('modules', { keyPath: 'hash' });
        db.createObjectStore('meta');
      }
    },
  });
}

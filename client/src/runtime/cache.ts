/** Module bytes in IndexedDB, keyed by content hash: a module is downloaded once per site. */
import type { RuntimeDb } from './db.ts';
import type { ByteCache } from './modules.ts';

/** A `ByteCache` over the runtime database; `now` stamps entries for a later eviction policy. */
export function createIdbByteCache(db: RuntimeDb, now: () => number = Date.now): ByteCache {
  return {
    get: async (hash) => (await db.get('modules', hash))?.bytes,
    put: async (hash, bytes) => void (await db.put('modules', { hash, bytes, storedAt: now() })),
    keys: () => db.getAllKeys('modules'),
  };
}

/** The browser volunteer's anonymous id: random, made once, kept in IndexedDB. */
import type { RuntimeDb } from './db.ts';
import { isVolunteerId, newVolunteerId } from './ids.ts';

/** The stored id, or a new one (stored) when there is none. */
export async function loadVolunteerId(db: RuntimeDb, make: () => string = newVolunteerId): Promise<string> {
  const stored = await db.get('meta', 'volunteerId');
  if (isVolunteerId(stored)) return stored;
  const id = make();
  await db.put('meta', id, 'volunteerId');
  return id;
}

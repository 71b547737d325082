/** The Node volunteer's id, kept in a local file so the agent stays the same volunteer across runs. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isVolunteerId, newVolunteerId } from '../runtime/ids.ts';

/** Reads the id from `path`, or makes one and writes it there (mode 0600). */
export async function loadVolunteerIdFile(path: string, make: () => string = newVolunteerId): Promise<string> {
  try {
    const stored = (await readFile(path, 'utf8')).trim();
    if (isVolunteerId(stored)) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const id = make();
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${id}\n`, { mode: 0o600 });
  return id;
}

/**
 * Random identifiers and keys, from the operating system's CSPRNG. These are the coordinator's only
 * source of randomness for ids: `main.ts` injects them, tests may inject deterministic ones.
 */
import { randomBytes, randomFillSync } from 'node:crypto';

/** `bytes` random bytes as unpadded base64url (URL-, header- and file-name-safe). */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * An opaque id for jobs, tasks and leases: 16 random bytes (22 characters), never starting with
 * `-`: an id is typed as a command argument (`sparecycles job status <id>`), and one starting with
 * `-` read as an option (1 id in 64 did).
 */
export function newId(): string {
  for (;;) {
    const id = pooledToken(16);
    if (!id.startsWith('-')) return id;
  }
}

/**
 * A lease id: a `newId` behind 9 characters of the millisecond it was made (base 36, which sorts
 * as text), so leases made together sort together. Thousands are inserted a second, and with
 * wholly random ids each insert lands on a random page of the lease index: a commit then writes
 * one index page per new lease instead of a few for the batch. The random part keeps it
 * unguessable; the time it tells is no secret (a grant carries its deadline).
 */
export function newLeaseId(now = Date.now()): string {
  return Math.max(0, Math.floor(now)).toString(36).padStart(9, '0') + newId();
}

// Ids are drawn a few thousand a second (every lease has one): one system call fills the pool for
// 256 of them, as Node's own `randomUUID` does, instead of one call each.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

/** `bytes` random bytes from the pool, never handed out twice, as unpadded base64url. */
function pooledToken(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const token = pool.toString('base64url', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return token;
}

/** A public site key, as it appears in the embed snippet: `site_` + 15 random bytes. */
export function newSiteKey(): string {
  return `site_${randomToken(15)}`;
}

/** An operator (admin) key: 32 random bytes, a bearer secret. */
export function newAdminKey(): string {
  return `sc_admin_${randomToken(32)}`;
}

/** A scoped key's public id (`k_` + 9 random bytes): what its records are stamped with. */
export function newKeyId(): string {
  return `k_${randomToken(9)}`;
}

/** A scoped key's secret (`sc_` + 32 random bytes): shown once, stored only as its SHA-256. */
export function newKeySecret(): string {
  return `sc_${randomToken(32)}`;
}

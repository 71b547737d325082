/** Random ids for volunteers: URL-safe, matching the handshake's `^[A-Za-z0-9_-]{8,128}$`. */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A 22-character id (132 random bits) from `randomBytes`, which fills the array it is given. */
export function newVolunteerId(randomBytes: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const bytes = randomBytes(new Uint8Array(22));
  let id = '';
  for (const byte of bytes) id += ALPHABET[byte & 63];
  return id;
}

/** Whether `value` is an id the coordinator accepts in the handshake. */
export function isVolunteerId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{8,128}$/.test(value);
}

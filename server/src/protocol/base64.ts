/** Strict base64 (RFC 4648 §4, padded, canonical): anything Node would silently skip or fix is refused. */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The decoded bytes, or `undefined` when `text` is not canonical padded base64. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Non-zero bits in the last character's unused tail decode fine but do not round-trip.
  if (bytes.toString('base64') !== text) return undefined;
  return bytes;
}

/** Base64 of `bytes`, without copying. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

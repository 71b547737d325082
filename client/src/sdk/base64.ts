/**
 * Base64 without Node's Buffer, so the SDK runs in browsers too. `atob`/`btoa` work on "binary
 * strings"; the chunking keeps `String.fromCharCode` within the engine's argument limit.
 */

const CHUNK = 0x8000;

/** Standard padded base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let at = 0; at < bytes.length; at += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(at, at + CHUNK));
  }
  return btoa(binary);
}

/** The bytes of standard base64 `text`; throws on characters outside the alphabet. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

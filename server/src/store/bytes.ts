/**
 * Binary values at the driver boundary, and the hash that identifies an output.
 */
import { createHash } from 'node:crypto';

/** Lowercase hex SHA-256 of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Drivers take Buffers for binary parameters (pg only recognises Buffer); no copy is made. */
export function toDbBytes(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Drivers return Buffers; callers get plain Uint8Arrays over the same memory. */
export function fromDbBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

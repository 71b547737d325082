/**
 * Scoped keys: what the store keeps of a secret (its SHA-256, hex) and the principal a key stands
 * for. A database copy holds no secret, and a secret of 32 random bytes needs no slow hash: there
 * is nothing to brute-force from its SHA-256.
 */
import { createHash } from 'node:crypto';
import type { KeyRecord } from '../store/index.ts';
import type { Principal } from './principal.ts';

/** The SHA-256 (lowercase hex) of a key's secret: how the store finds a key. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The caller a (live) key stands for: its role, and its id as the owner of what it makes. */
export function principalOf(key: KeyRecord): Principal {
  return { role: key.role, owner: key.id };
}

/** What a revoked key is told: how to get a working one. */
export const REVOKED_MESSAGE = 'this key was revoked; ask the operator for a new one (`sparecycles key create`)';

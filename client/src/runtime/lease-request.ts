/**
 * How many leases to ask for, as a pure function of what the loop holds: one running and
 * `PREFETCH` queued per worker, within the coordinator's own bound, so a worker that finishes
 * starts its next task without waiting for a round trip.
 */
import type { LeaseRequest } from '../../../server/src/protocol/events.ts';

/** Queued leases per worker, beyond the one it runs (matches the coordinator's bound). */
export const PREFETCH = 1;

/** The protocol's bounds on one lease request. */
const MAX_SLOTS = 128;
const MAX_WORKERS = 64;

/** What the loop holds when it considers asking. */
export interface Holding {
  /** Workers that may run tasks (the policy's count, not the pool's size). */
  workers: number;
  /** Leases being prepared or run. */
  active: number;
  /** Leases waiting for a worker. */
  queued: number;
  /**
   * Leases of the current connection the coordinator still counts as this session's: running,
   * queued, or finished with the report not yet answered.
   */
  held: number;
  cached: string[];
}

/**
 * The lease request for the loop's holdings, or `undefined` when it holds enough. Slots are what
 * both sides have room for: free workers plus free queue places here, and the coordinator's
 * `workers × (1 + PREFETCH) − held`. Asking past the coordinator's bound would only earn an empty
 * answer and a back-off.
 */
export function leaseRequestFor(holding: Holding): LeaseRequest | undefined {
  const workers = Math.min(MAX_WORKERS, holding.workers);
  const room = holding.workers * (1 + PREFETCH) - holding.active - holding.queued;
  const grantable = workers * (1 + PREFETCH) - holding.held;
  const slots = Math.min(MAX_SLOTS, room, grantable);
  if (slots < 1) return undefined;
  return holding.cached.length > 0 ? { slots, workers, cached: holding.cached } : { slots, workers };
}

/**
 * The leases a volunteer has in hand, as the loop keeps count of them:
 * - queued: received, waiting for a worker (in the order they came);
 * - running: taken by a worker (being prepared or run);
 * - held: granted on the current connection and not yet answered for, which is the coordinator's
 *   count of this session's leases (it bounds what may be asked for);
 * - carried: running or queued when the connection (re)opened, until the coordinator's `adopted`
 *   notice says which of them the new connection holds.
 * Bookkeeping only: the loop starts, cancels and reports the work, and reacts to what changed.
 */
import type { Lease } from '../../../server/src/protocol/events.ts';

/** A lease waiting for a worker. */
interface Queued {
  lease: Lease;
  /** Our clock put the deadline ahead on arrival, so a passed deadline here means it expired. */
  expires: boolean;
}

export interface LeaseHand {
  /** Leases just granted: held, and queued behind the others. */
  receive(leases: readonly Lease[], now: number): void;
  /** The next queued lease, now running; `undefined` when none waits. */
  startNext(): Lease | undefined;
  isRunning(leaseId: string): boolean;
  /** A running lease ended (its outcome is the loop's); false if it was no longer running. */
  stopRunning(leaseId: string): boolean;
  /** The coordinator no longer counts it (answered, revoked, expired); false if it did not. */
  unhold(leaseId: string): boolean;
  /**
   * Drops queued leases whose deadline passed (only those whose deadline our clock put ahead on
   * arrival: with a clock too far off to tell, the lease runs and the coordinator decides).
   * Returns their ids; they are still held, for the loop to unhold.
   */
  dropExpired(now: number): string[];
  /** Takes these leases out of the queue and the running set; says which were queued and which ran. */
  take(leaseIds: Iterable<string>): { queued: string[]; running: string[] };
  /**
   * A new connection: everything in hand, and `unanswered` (finished, the report not yet
   * acknowledged) is held again, and what runs or waits is carried until the `adopted` notice.
   */
  reconnected(unanswered: Iterable<string>): void;
  /** The `adopted` notice: the carried leases it does not name, which the loop must drop. */
  notAdopted(adopted: readonly string[]): string[];
  /** Forgets everything; returns the ids that were running (the loop terminates their work). */
  clear(): string[];
  running(): number;
  queued(): number;
  held(): number;
  /** Every lease running or queued. */
  leases(): Lease[];
}

export function createLeaseHand(): LeaseHand {
  const running = new Map<string, Lease>();
  let queue: Queued[] = [];
  const held = new Set<string>();
  let carried = new Set<string>();

  return {
    receive(leases, now) {
      for (const lease of leases) held.add(lease.leaseId);
      queue.push(...leases.map((lease) => ({ lease, expires: lease.deadline > now })));
    },
    startNext() {
      const next = queue.shift();
      if (next) running.set(next.lease.leaseId, next.lease);
      return next?.lease;
    },
    isRunning: (leaseId) => running.has(leaseId),
    stopRunning: (leaseId) => running.delete(leaseId),
    unhold: (leaseId) => held.delete(leaseId),
    dropExpired(now) {
      const expired: string[] = [];
      queue = queue.filter(({ lease, expires }) => {
        if (!expires || lease.deadline > now) return true;
        expired.push(lease.leaseId);
        return false;
      });
      return expired;
    },
    take(leaseIds) {
      const ids = new Set(leaseIds);
      const queued: string[] = [];
      queue = queue.filter(({ lease }) => !(ids.has(lease.leaseId) && queued.push(lease.leaseId)));
      return { queued, running: [...ids].filter((id) => running.delete(id)) };
    },
    reconnected(unanswered) {
      held.clear();
      for (const id of running.keys()) held.add(id);
      for (const { lease } of queue) held.add(lease.leaseId);
      carried = new Set(held);
      for (const id of unanswered) held.add(id);
    },
    notAdopted(adopted) {
      const kept = new Set(adopted);
      const gone = [...carried].filter((id) => !kept.has(id));
      carried = new Set();
      return gone;
    },
    clear() {
      const wasRunning = [...running.keys()];
      queue = [];
      running.clear();
      held.clear();
      carried = new Set();
      return wasRunning;
    },
    running: () => running.size,
    queued: () => queue.length,
    held: () => held.size,
    leases: () => [...running.values(), ...queue.map((queued) => queued.lease)],
  };
}

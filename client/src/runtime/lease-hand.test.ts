import { describe, expect, it } from 'vitest';
import type { Lease } from '../../../server/src/protocol/events.ts';
import { plainLease } from '../testing/leases.ts';
import { createLeaseHand } from './lease-hand.ts';

const NOW = 1_000_000;
const lease = (leaseId: string, deadline = NOW + 60_000): Lease => plainLease(leaseId, deadline);

const ids = (leases: Lease[]): string[] => leases.map((l) => l.leaseId);

describe('lease hand', () => {
  it('runs queued leases in the order they came, holding each until the coordinator stops counting it', () => {
    const hand = createLeaseHand();
    hand.receive([lease('a'), lease('b')], NOW);
    hand.receive([lease('c')], NOW);
    expect([hand.queued(), hand.running(), hand.held()]).toEqual([3, 0, 3]);
    expect(hand.startNext()?.leaseId).toBe('a');
    expect(hand.startNext()?.leaseId).toBe('b');
    expect([hand.queued(), hand.running(), hand.held()]).toEqual([1, 2, 3]);
    expect(ids(hand.leases())).toEqual(['a', 'b', 'c']);
    // Finishing a lease stops it running; it stays held until its report is answered.
    expect(hand.stopRunning('a')).toBe(true);
    expect(hand.stopRunning('a')).toBe(false);
    expect(hand.held()).toBe(3);
    expect(hand.unhold('a')).toBe(true);
    expect(hand.unhold('a')).toBe(false);
    expect(hand.held()).toBe(2);
  });

  it('drops expired queued leases only when our clock put their deadline ahead on arrival', () => {
    const hand = createLeaseHand();
    // `late` seemed already past on arrival (our clock is off): it runs, and the coordinator decides.
    hand.receive([lease('soon', NOW + 100), lease('late', NOW - 5), lease('later', NOW + 10_000)], NOW);
    expect(hand.dropExpired(NOW + 50)).toEqual([]);
    expect(hand.dropExpired(NOW + 200)).toEqual(['soon']);
    expect(ids(hand.leases())).toEqual(['late', 'later']);
    // Still held: the loop unholds what it dropped.
    expect(hand.held()).toBe(3);
  });

  it('takes revoked leases out of the queue and the running set, saying which ran', () => {
    const hand = createLeaseHand();
    hand.receive([lease('a'), lease('b'), lease('c')], NOW);
    hand.startNext();
    expect(hand.take(['a', 'c', 'unknown'])).toEqual({ queued: ['c'], running: ['a'] });
    expect(ids(hand.leases())).toEqual(['b']);
    expect(hand.isRunning('a')).toBe(false);
  });

  it('after a reconnection holds everything in hand and unanswered, and carries what runs or waits until the adopted notice', () => {
    const hand = createLeaseHand();
    hand.receive([lease('a'), lease('b'), lease('c')], NOW);
    hand.startNext();
    hand.unhold('gone');
    hand.reconnected(['finished']);
    expect(hand.held()).toBe(4);
    // The notice names what the new connection took over; the rest was taken back.
    expect(hand.notAdopted(['b', 'finished'])).toEqual(['a', 'c']);
    // Once only: a lease received on the new connection is never carried.
    hand.receive([lease('d')], NOW);
    expect(hand.notAdopted([])).toEqual([]);
  });

  it('forgets everything at once, returning what was running', () => {
    const hand = createLeaseHand();
    hand.receive([lease('a'), lease('b')], NOW);
    hand.startNext();
    hand.reconnected([]);
    expect(hand.clear()).toEqual(['a']);
    expect([hand.queued(), hand.running(), hand.held()]).toEqual([0, 0, 0]);
    expect(hand.notAdopted([])).toEqual([]);
  });
});

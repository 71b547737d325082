import { describe, expect, it } from 'vitest';
import {
  CRASH_STREAK,
  RELEASES_PER_ATTEMPT,
  afterCountedFailure,
  afterRelease,
  afterVanishing,
  failureSources,
  needsJobSources,
  type FailureWitness,
  type LeaseEnding,
} from './task-evidence.ts';

const w = (leaseId: string, volunteerId: string, address: string | null, trusted = false): FailureWitness => ({ leaseId, volunteerId, address, trusted });

describe('failure evidence (the per-address rule)', () => {
  it('counts one source per address for untrusted volunteers, per trusted volunteer, and per lease without an address', () => {
    const sources = failureSources([
      w('l1', 'fresh-1', '203.0.113.7'),
      w('l2', 'fresh-2', '203.0.113.7'),
      w('l3', 'veteran', '203.0.113.7', true),
      w('l4', 'veteran', '203.0.113.7', true),
      w('l5', 'legacy', null),
      w('l6', 'legacy', null),
    ]);
    expect(sources).toEqual({ addresses: ['203.0.113.7'], volunteers: ['veteran'], leases: ['l5', 'l6'], count: 4 });
  });

  const oneAddress = [w('l1', 'a', '10.0.0.1'), w('l2', 'b', '10.0.0.1'), w('l3', 'c', '10.0.0.1')];
  const threeAddresses = [w('l1', 'a', '10.0.0.1'), w('l2', 'b', '10.0.0.2'), w('l3', 'c', '2001:db8:1:2::/64')];

  it.each([
    ['fewer failures than allowed', 2, threeAddresses.slice(0, 2), undefined, 'open'],
    ['maxAttempts failures from distinct addresses', 3, threeAddresses, undefined, 'failed'],
    ['one address, another source worked on the job', 3, oneAddress, true, 'open'],
    ['one address, the whole grid the job has seen', 3, oneAddress, false, 'failed'],
    ['legacy leases without addresses, each its own source', 3, [w('l1', 'a', null), w('l2', 'a', null), w('l3', 'a', null)], undefined, 'failed'],
    ['trusted volunteers on one address, each its own source', 2, [w('l1', 'a', '10.0.0.1', true), w('l2', 'b', '10.0.0.1', true)], undefined, 'failed'],
    ['maxAttempts 1: one failure is enough', 1, [w('l1', 'a', '10.0.0.1')], undefined, 'failed'],
  ] as const)('%s: %s', (_, failures, witnesses, other, expected) => {
    const max = failures === 1 ? 1 : failures === 2 && witnesses[0]?.trusted ? 2 : 3;
    expect(afterCountedFailure(failures, witnesses, max, other)).toBe(expected);
  });

  it('asks about the job only when the failing sources are too few', () => {
    expect(needsJobSources(3, oneAddress, 3)).toBe(true);
    expect(needsJobSources(2, oneAddress.slice(0, 2), 3)).toBe(false);
    expect(needsJobSources(3, threeAddresses, 3)).toBe(false);
    expect(() => afterCountedFailure(3, oneAddress, 3, undefined)).toThrow(/other sources/);
  });
});

describe('releases and the crash streak', () => {
  it('a task survives releases up to its allowance, then fails', () => {
    expect(RELEASES_PER_ATTEMPT).toBeGreaterThan(1);
    expect(afterRelease(3 * RELEASES_PER_ATTEMPT - 1, 3)).toBe('open');
    expect(afterRelease(3 * RELEASES_PER_ATTEMPT, 3)).toBe('failed');
    expect(afterRelease(1, 1)).toBe('open');
  });

  const ended = (...list: [string, LeaseEnding][]) => list.map(([volunteerId, ending]) => ({ volunteerId, ending }));

  it.each([
    ['a first disconnect', ended(), 'release', 1],
    ['a disconnect after an answer', ended(['b', 'answered'], ['c', 'vanished']), 'release', 1],
    ['the second volunteer vanishing in a row', ended(['b', 'vanished']), 'crash', 2],
    ['the third', ended(['b', 'vanished'], ['c', 'vanished'], ['d', 'answered'], ['e', 'vanished']), 'crash', 3],
    ['the same volunteer vanishing again', ended(['a', 'vanished'], ['a', 'vanished']), 'release', 1],
    ['a streak across a coordinator restart', ended(['r', 'neutral'], ['b', 'vanished']), 'crash', 2],
    ['a restart alone', ended(['r', 'neutral']), 'release', 1],
  ] as const)('%s: %s', (_, earlier, verdict, streak) => {
    expect(afterVanishing('a', earlier)).toEqual({ verdict, streak });
  });

  it('counts from the second distinct volunteer', () => {
    expect(CRASH_STREAK).toBe(2);
    expect(afterVanishing('a', ended(['b', 'vanished']), 3).verdict).toBe('release');
  });
});

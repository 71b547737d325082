/** The idle-connections bench's spread: every volunteer placed once, within every per-process and per-address limit. */
import { describe, expect, it } from 'vitest';
import { percentile, sourceAddress, spreadVolunteers } from './connections-plan.ts';

describe('spreadVolunteers', () => {
  it.each([1, 999, 17_500, 17_501, 50_000])('places %i volunteers once each, within the limits', (total) => {
    const limits = { perCoordinator: 17_500, perClient: 18_000, perAddress: 1_000 };
    const spread = spreadVolunteers(total, limits);
    const seen = new Set<number>();
    let misplaced = 0;
    const perCoordinator = new Map<number, number>();
    const perAddress = new Map<string, number>();
    for (const batches of spread.clients) {
      expect(batches.reduce((sum, b) => sum + b.count, 0)).toBeLessThanOrEqual(limits.perClient);
      for (const b of batches) {
        for (let n = 0; n < b.count; n++) {
          const index = b.first + n * spread.coordinators;
          if (index % spread.coordinators !== b.coordinator || seen.has(index) || index < 0 || index >= total) misplaced++;
          seen.add(index);
        }
        perCoordinator.set(b.coordinator, (perCoordinator.get(b.coordinator) ?? 0) + b.count);
        const key = `${b.localAddress}>${b.coordinator}`;
        perAddress.set(key, (perAddress.get(key) ?? 0) + b.count);
      }
    }
    expect(misplaced).toBe(0);
    expect(seen.size).toBe(total);
    for (const count of perCoordinator.values()) expect(count).toBeLessThanOrEqual(limits.perCoordinator);
    for (const count of perAddress.values()) expect(count).toBeLessThanOrEqual(limits.perAddress);
  });

  it('refuses a count that is not a positive whole number', () => {
    expect(() => spreadVolunteers(0)).toThrow(RangeError);
    expect(() => spreadVolunteers(2.5)).toThrow(RangeError);
  });
});

describe('sourceAddress and percentile', () => {
  it('numbers loopback addresses from 127.0.0.2 and carries into the third byte', () => {
    expect(sourceAddress(0)).toBe('127.0.0.2');
    expect(sourceAddress(253)).toBe('127.0.0.255');
    expect(sourceAddress(254)).toBe('127.0.1.0');
  });
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
  });
});

/**
 * Ids the coordinator makes. A job id is typed as a command argument (`sparecycles job status
 * <id>`): one starting with `-` is read as an option, and the command fails as a usage error.
 */
import { describe, expect, it } from 'vitest';
import { newId, newLeaseId } from './ids.ts';

describe('newId', () => {
  it('never starts with "-" (without the rule, about 1 in 64 did), and stays 22 URL-safe characters', () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('newLeaseId', () => {
  it('sorts by the millisecond it was made (leases made together share index pages), and stays unique and URL-safe', () => {
    const times = [0, 1, 35, 36, 1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000, 4_000_000_000_000];
    const ids = times.map((time) => newLeaseId(time));
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{9}[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    const same = Array.from({ length: 1000 }, () => newLeaseId(1_700_000_000_000));
    expect(new Set(same).size).toBe(same.length);
  });
});

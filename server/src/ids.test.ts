/**
 * Ids the coordinator makes. A job id is typed as a command argument (`sparecycles job status
 * <id>`): one starting with `-` is read as an option, and the command fails as a usage error.
 */
import { describe, expect, it } from 'vitest';
import { newId } from './ids.ts';

describe('newId', () => {
  it('never starts with "-" (without the rule, about 1 in 64 did), and stays 22 URL-safe characters', () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    expect(ids.filter((id) => id.startsWith('-'))).toEqual([]);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

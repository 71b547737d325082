import { describe, expect, it } from 'vitest';
import { addToTotals, forgetChoices, readChoice, readShare, readTotals, saveChoice, saveShare } from './choice.ts';

function memoryStorage() {
  const items = new Map<string, string>();
  return () => ({
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  });
}

describe('remembered choices', () => {
  it('keeps consent per site key: one site\'s choice never applies to another', () => {
    const storage = memoryStorage();
    saveChoice(storage, 'site-a', 'accepted');
    expect(readChoice(storage, 'site-a')).toBe('accepted');
    expect(readChoice(storage, 'site-b')).toBe('undecided');
  });

  it('reads a missing, garbled or blocked value as no choice', () => {
    const storage = memoryStorage();
    storage().setItem('sparecycles:consent:s', 'yes please');
    storage().setItem('sparecycles:share:s', '7');
    expect(readChoice(storage, 's')).toBe('undecided');
    expect(readShare(storage, 's')).toBeUndefined();
    const blocked = () => {
      throw new Error('SecurityError');
    };
    expect(readChoice(blocked, 's')).toBe('undecided');
    expect(() => saveChoice(blocked, 's', 'accepted')).not.toThrow();
  });

  it('adds to the totals and forgets everything of one site key', () => {
    const storage = memoryStorage();
    saveShare(storage, 's', 0.25);
    saveChoice(storage, 's', 'accepted');
    addToTotals(storage, 's', { tasks: 2, cpuMs: 300 });
    expect(addToTotals(storage, 's', { tasks: 1, cpuMs: 100 })).toEqual({ tasks: 3, cpuMs: 400 });
    saveChoice(storage, 'other', 'declined');
    forgetChoices(storage, 's');
    expect(readChoice(storage, 's')).toBe('undecided');
    expect(readShare(storage, 's')).toBeUndefined();
    expect(readTotals(storage, 's')).toEqual({ tasks: 0, cpuMs: 0 });
    expect(readChoice(storage, 'other')).toBe('declined');
  });
});

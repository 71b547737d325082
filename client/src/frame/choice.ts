/**
 * What the frame remembers for one site key, in its own `localStorage`: the consent, the share the
 * visitor chose, and the totals given. Browsers partition a cross-origin frame's storage per
 * embedding site, and the keys carry the site key, so a choice made for one site key never
 * applies to another, even on the same top-level site. Every tab of the site reads the same
 * values and hears changes through `storage` events: a Pause or Stop in one tab reaches all.
 */
import { isConsentState, type ConsentState } from './consent.ts';

type ChoiceStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const consentKey = (siteKey: string): string => `sparecycles:consent:${siteKey}`;
const shareKey = (siteKey: string): string => `sparecycles:share:${siteKey}`;
const totalsKey = (siteKey: string): string => `sparecycles:totals:${siteKey}`;

/** Whether a `storage` event's key is one of this site key's. */
export const isChoiceKey = (key: string | null, siteKey: string): boolean =>
  key === null || key === consentKey(siteKey) || key === shareKey(siteKey) || key === totalsKey(siteKey);

/** What the visitor has given this site, in all. */
export interface Totals {
  tasks: number;
  cpuMs: number;
}

function read(storage: () => ChoiceStorage, key: string): string | null {
  try {
    return storage().getItem(key);
  } catch {
    // Storage blocked (e.g. third-party storage disabled): ask again on every visit.
    return null;
  }
}

function write(storage: () => ChoiceStorage, key: string, value: string): void {
  try {
    storage().setItem(key, value);
  } catch {
    // The choice then lasts for this page view only, which is still honest.
  }
}

/** The remembered state, or `undecided` when there is none or storage is unavailable. */
export function readChoice(storage: () => ChoiceStorage, siteKey: string): ConsentState {
  const value = read(storage, consentKey(siteKey));
  return isConsentState(value) ? value : 'undecided';
}

export function saveChoice(storage: () => ChoiceStorage, siteKey: string, state: ConsentState): void {
  write(storage, consentKey(siteKey), state);
}

/** The share the visitor chose, or `undefined`. */
export function readShare(storage: () => ChoiceStorage, siteKey: string): number | undefined {
  const value = Number(read(storage, shareKey(siteKey)));
  return Number.isFinite(value) && value > 0 && value <= 1 ? value : undefined;
}

export function saveShare(storage: () => ChoiceStorage, siteKey: string, share: number): void {
  write(storage, shareKey(siteKey), String(share));
}

export function readTotals(storage: () => ChoiceStorage, siteKey: string): Totals {
  try {
    const parsed = JSON.parse(read(storage, totalsKey(siteKey)) ?? '{}') as Partial<Totals>;
    const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);
    return { tasks: count(parsed.tasks), cpuMs: count(parsed.cpuMs) };
  } catch {
    return { tasks: 0, cpuMs: 0 };
  }
}

/** Adds what the pool just had accepted to the site's totals. */
export function addToTotals(storage: () => ChoiceStorage, siteKey: string, delta: Totals): Totals {
  const before = readTotals(storage, siteKey);
  const after = { tasks: before.tasks + delta.tasks, cpuMs: before.cpuMs + delta.cpuMs };
  write(storage, totalsKey(siteKey), JSON.stringify(after));
  return after;
}

/** Forgets everything remembered for this site key. */
export function forgetChoices(storage: () => ChoiceStorage, siteKey: string): void {
  for (const key of [consentKey(siteKey), shareKey(siteKey), totalsKey(siteKey)]) {
    try {
      storage().removeItem(key);
    } catch {
      // Nothing stored, nothing to forget.
    }
  }
}

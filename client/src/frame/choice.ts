/**
 * The remembered choice, in the frame's own `localStorage`: browsers partition a cross-origin
 * frame's storage per embedding site, so a choice made on one site never applies to another.
 */
import { isConsentState, type ConsentState } from './consent.ts';

const KEY = 'sparecycles:consent';

type ChoiceStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** The remembered state, or `undecided` when there is none or storage is unavailable. */
export function readChoice(storage: () => ChoiceStorage): ConsentState {
  try {
    const value = storage().getItem(KEY);
    return isConsentState(value) ? value : 'undecided';
  } catch {
    // Storage blocked (e.g. third-party storage disabled): ask again on every visit.
    return 'undecided';
  }
}

/** Remembers `state`; silently does nothing when storage is unavailable. */
export function saveChoice(storage: () => ChoiceStorage, state: ConsentState): void {
  try {
    storage().setItem(KEY, state);
  } catch {
    // The choice then lasts for this page view only, which is still honest.
  }
}

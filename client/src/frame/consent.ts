/**
 * The visitor's consent, as a pure reducer.
 *
 *   undecided ──accept──▶ accepted      undecided ──decline──▶ declined
 *   accepted ──pause───▶ paused         paused ──resume──▶ accepted
 *   accepted | paused ──withdraw──▶ declined
 *   declined ──accept──▶ accepted       (the visitor turned sharing back on from the control)
 *
 * Any other event leaves the state as it is: a stale click can never start work.
 */

/** Where the visitor stands. Only `accepted` lets the runtime ask for work. */
export type ConsentState = 'undecided' | 'accepted' | 'declined' | 'paused';

/** What the visitor did. */
export type ConsentEvent = 'accept' | 'decline' | 'pause' | 'resume' | 'withdraw';

/** Every state, for validating a remembered choice. */
export const CONSENT_STATES: readonly ConsentState[] = ['undecided', 'accepted', 'declined', 'paused'];

const TRANSITIONS: Readonly<Record<ConsentState, Partial<Record<ConsentEvent, ConsentState>>>> = {
  undecided: { accept: 'accepted', decline: 'declined' },
  accepted: { pause: 'paused', withdraw: 'declined' },
  paused: { resume: 'accepted', withdraw: 'declined' },
  declined: { accept: 'accepted' },
};

/** The state after `event`; unchanged when the event means nothing in `state`. */
export function nextConsent(state: ConsentState, event: ConsentEvent): ConsentState {
  return TRANSITIONS[state][event] ?? state;
}

/** Narrows untrusted data (e.g. a value read back from storage) to a consent state. */
export function isConsentState(value: unknown): value is ConsentState {
  return typeof value === 'string' && (CONSENT_STATES as readonly string[]).includes(value);
}

/** The runtime exists (started or paused) only in these states. */
export function runtimeWanted(state: ConsentState): boolean {
  return state === 'accepted' || state === 'paused';
}

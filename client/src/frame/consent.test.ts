import { describe, expect, it } from 'vitest';
import { isConsentState, nextConsent, type ConsentEvent, type ConsentState } from './consent.ts';

const table: [ConsentState, ConsentEvent, ConsentState][] = [
  ['undecided', 'accept', 'accepted'],
  ['undecided', 'decline', 'declined'],
  ['undecided', 'pause', 'undecided'],
  ['undecided', 'resume', 'undecided'],
  ['undecided', 'withdraw', 'undecided'],
  ['accepted', 'accept', 'accepted'],
  ['accepted', 'decline', 'accepted'],
  ['accepted', 'pause', 'paused'],
  ['accepted', 'resume', 'accepted'],
  ['accepted', 'withdraw', 'declined'],
  ['paused', 'accept', 'paused'],
  ['paused', 'decline', 'paused'],
  ['paused', 'pause', 'paused'],
  ['paused', 'resume', 'accepted'],
  ['paused', 'withdraw', 'declined'],
  ['declined', 'accept', 'accepted'],
  ['declined', 'decline', 'declined'],
  ['declined', 'pause', 'declined'],
  ['declined', 'resume', 'declined'],
  ['declined', 'withdraw', 'declined'],
];

describe('nextConsent', () => {
  it.each(table)('%s + %s → %s', (state, event, expected) => {
    expect(nextConsent(state, event)).toBe(expected);
  });

  it('never reaches accepted without an explicit accept or resume', () => {
    for (const [state, event, next] of table) {
      if (next === 'accepted' && state !== 'accepted') expect(['accept', 'resume']).toContain(event);
    }
  });
});

describe('isConsentState', () => {
  it.each([
    ['accepted', true],
    ['paused', true],
    ['Accepted', false],
    ['', false],
    [null, false],
    [1, false],
    [{}, false],
  ])('%j → %s', (value, expected) => {
    expect(isConsentState(value)).toBe(expected);
  });
});

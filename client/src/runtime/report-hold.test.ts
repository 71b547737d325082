import { describe, expect, it } from 'vitest';
import { holdResult, LINGER_MS, waitForAnswers } from './report-hold.ts';

describe('holding a result for the others in hand', () => {
  it.each([
    { taskMs: 0, inHand: 3, hold: true },
    { taskMs: LINGER_MS - 1, inHand: 1, hold: true },
    // The last lease in hand: nothing to wait for.
    { taskMs: 0, inHand: 0, hold: false },
    // A task as long as the wait: the others will not likely finish within it.
    { taskMs: LINGER_MS, inHand: 3, hold: false },
    { taskMs: 400, inHand: 3, hold: false },
  ])('a $taskMs ms task with $inHand other leases in hand: held $hold', ({ taskMs, inHand, hold }) => {
    expect(holdResult(taskMs, inHand)).toBe(hold);
  });

  it('takes another linger bound', () => {
    expect(holdResult(30, 1, 50)).toBe(true);
    expect(holdResult(30, 1, 20)).toBe(false);
  });
});

describe('a lease request waiting for awaited answers', () => {
  it.each([
    { lastTaskMs: 1, awaiting: 4, wait: true },
    { lastTaskMs: 1, awaiting: 0, wait: false },
    // Longer tasks answer one by one: no waiting, however many answers overlap.
    { lastTaskMs: LINGER_MS, awaiting: 4, wait: false },
    // Before any task has finished.
    { lastTaskMs: Infinity, awaiting: 1, wait: false },
  ])('after a $lastTaskMs ms task with $awaiting answers awaited: waits $wait', ({ lastTaskMs, awaiting, wait }) => {
    expect(waitForAnswers(lastTaskMs, awaiting)).toBe(wait);
  });
});

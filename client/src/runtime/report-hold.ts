/**
 * When a finished result waits for others before it is sent. Tiny tasks finish several per round
 * trip; sent together they cost the coordinator one `results` event and one transaction instead
 * of one each, and the leases they free are asked for in one request. A result waits only when
 * its own task was shorter than the wait (so the leases still in hand will likely finish within
 * it) and at most `LINGER_MS`; a longer task's result goes at once, as does the last one in hand.
 */

/** The longest a finished result waits for others to travel with it, in ms. */
export const LINGER_MS = 10;

/**
 * The longest a lease request waits for awaited answers, in ms: a few round trips. Past it the
 * request goes anyway, so a slow or lost acknowledgement never idles the workers.
 */
export const ANSWER_WAIT_MAX_MS = 100;

/**
 * Whether a result whose task took `taskMs` should wait for the `leasesInHand` other leases (running
 * or queued) to finish too.
 */
export function holdResult(taskMs: number, leasesInHand: number, lingerMs: number = LINGER_MS): boolean {
  return leasesInHand > 0 && taskMs < lingerMs;
}

/**
 * Whether a lease request should wait for the `awaiting` answers (reports held or sent): only
 * after a tiny task, whose leases are answered together, so the wait ends with one answer that
 * frees them all and the request asks for all of them. After a longer task results go one by
 * one and a wait could last as long as answers keep overlapping: the request goes at once.
 */
export function waitForAnswers(lastTaskMs: number, awaiting: number, lingerMs: number = LINGER_MS): boolean {
  return awaiting > 0 && lastTaskMs < lingerMs;
}

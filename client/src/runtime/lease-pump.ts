/**
 * Asking the coordinator for leases: at most one request in flight; after an empty answer, a wait
 * (the coordinator's `retryAfterMs` during a cool-down, else a jittered back-off) unless the
 * coordinator's `work` hint says there is work now (a hint that arrives while a request is in
 * flight makes an empty answer ask again at once instead of waiting). What to ask for is the
 * loop's business (`want`), and so is what to do with the leases (`onLeases`).
 */
import type { Lease, LeaseReply, LeaseRequest } from '../../../server/src/protocol/events.ts';
import type { Timers } from './timers.ts';

/** The longest wait a coordinator's `retryAfterMs` can impose (its cool-down is at most 60 s). */
const MAX_RETRY_AFTER_MS = 60_000;

export interface LeasePumpOptions {
  lease(request: LeaseRequest): Promise<LeaseReply>;
  timers: Timers;
  /** The jittered back-off after an empty or failed request. */
  backoffMs(): number;
  /** Whether asking is allowed now (running and connected). */
  mayAsk(): boolean;
  /** The request for what the loop lacks, or `undefined` when it holds enough. */
  want(): LeaseRequest | undefined;
  onLeases(leases: Lease[]): void;
  onError(error: unknown): void;
}

export interface LeasePump {
  /** Asks now, unless a request is in flight, a wait is running, or nothing is wanted. */
  ask(): void;
  /** The coordinator's `work` hint: cancels a wait and asks, or asks again after the request in flight. */
  wake(): void;
  /** Something the coordinator counted against us went away: a wait for it is pointless. */
  cancelWait(): void;
  /** Forgets the request in flight (its connection is gone) and any wait. */
  reset(): void;
}

export function createLeasePump(options: LeasePumpOptions): LeasePump {
  const { timers } = options;
  let asking = false;
  let woken = false;
  let waitTimer: unknown;
  // Bumped by `reset`: an answer to a request of a closed connection is nobody's business.
  let generation = 0;

  const wait = (ms: number): void => {
    if (waitTimer !== undefined) return;
    waitTimer = timers.setTimeout(() => {
      waitTimer = undefined;
      ask();
    }, ms);
  };

  function cancelWait(): void {
    if (waitTimer !== undefined) timers.clearTimeout(waitTimer);
    waitTimer = undefined;
  }

  function ask(): void {
    if (asking || waitTimer !== undefined || !options.mayAsk()) return;
    const request = options.want();
    if (!request) return;
    asking = true;
    woken = false;
    const askedIn = generation;
    options.lease(request).then(
      (reply) => {
        if (askedIn !== generation) return;
        asking = false;
        if ('error' in reply) {
          options.onError(new Error(`lease refused: ${reply.error.code}: ${reply.error.message}`));
          wait(options.backoffMs());
        } else if (reply.leases.length === 0) {
          // Cooling down after a strike: the coordinator says when to ask again.
          if (reply.retryAfterMs !== undefined && reply.retryAfterMs > 0) wait(Math.min(reply.retryAfterMs, MAX_RETRY_AFTER_MS));
          // A `work` hint that crossed this request announces work its answer did not see.
          else if (woken) ask();
          else wait(options.backoffMs());
        } else {
          options.onLeases(reply.leases);
        }
      },
      (error: unknown) => {
        if (askedIn !== generation) return;
        asking = false;
        options.onError(error);
        wait(options.backoffMs());
      },
    );
  }

  return {
    ask,
    wake() {
      if (asking) {
        woken = true;
        return;
      }
      cancelWait();
      ask();
    },
    cancelWait,
    reset() {
      generation += 1;
      asking = false;
      woken = false;
      cancelWait();
    },
  };
}

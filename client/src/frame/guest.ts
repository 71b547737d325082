/**
 * Drives the leader's runtime by the idle policy: feeds it the visitor's choice and the browser's
 * signals, and applies each decision (workers and share, and how hard to pause; policy.ts says
 * what each pause does to running work). Re-decides on every signal and when a hold ends.
 */
import {
  decide,
  HARD_PAUSE_GRACE_MS,
  SOFT_PAUSE_LIMIT_MS,
  type PauseStrength,
  type Decision,
  type PolicyMemory,
  type Signals,
  type SiteLimits,
  type VisitorChoice,
} from '../runtime/policy.ts';
import type { Timers } from '../runtime/timers.ts';

/** The runtime as the policy drives it. */
export interface Steerable {
  configure(settings: { workers: number; share: number }): void;
  pause(): void;
  suspend(): void;
  resume(): void;
}

export interface GuestOptions {
  site: SiteLimits;
  visitor(): VisitorChoice;
  now(): number;
  timers: Timers;
  onDecision?(decision: Decision): void;
}

export interface Guest {
  /** The runtime to steer (none while it starts or after it stopped). */
  attach(runtime: Steerable | undefined): void;
  signals(signals: Signals): void;
  /** The visitor's choice changed. */
  reconsider(): void;
  current(): Decision;
  dispose(): void;
}

export function createGuest(options: GuestOptions): Guest {
  const { site, timers } = options;
  let signals: Signals = {};
  let memory: PolicyMemory = {};
  let runtime: Steerable | undefined;
  let decision: Decision;
  let recheck: unknown;
  let grace: unknown;
  let graceFor: PauseStrength | undefined;

  const clear = (handle: unknown): undefined => {
    if (handle !== undefined) timers.clearTimeout(handle);
    return undefined;
  };

  function apply(): void {
    const result = decide({ site, visitor: options.visitor(), signals, now: options.now(), memory });
    memory = result.memory;
    decision = result.decision;
    recheck = clear(recheck);
    if (decision.recheckAt !== undefined) recheck = timers.setTimeout(apply, Math.max(0, decision.recheckAt - options.now()));
    if (runtime) {
      runtime.configure({ workers: decision.workers, share: decision.share });
      const strength = decision.strength;
      if (strength === undefined) {
        grace = clear(grace);
        graceFor = undefined;
        runtime.resume();
      } else if (strength === 'now') {
        grace = clear(grace);
        graceFor = undefined;
        runtime.suspend();
      } else {
        runtime.pause();
        // Running tasks get a grace to finish; then the work in hand is handed back. A soft pause
        // that goes on (a visitor typing for minutes) hands it back too, before queued leases
        // reach their deadlines and count against this volunteer.
        const ms = strength === 'hard' ? HARD_PAUSE_GRACE_MS : SOFT_PAUSE_LIMIT_MS;
        if (grace === undefined || (strength === 'hard' && graceFor === 'soft')) {
          clear(grace);
          const target = runtime;
          graceFor = strength;
          grace = timers.setTimeout(() => {
            grace = undefined;
            target.suspend();
          }, ms);
        }
      }
    }
    options.onDecision?.(decision);
  }

  apply();
  return {
    attach(next) {
      runtime = next;
      grace = clear(grace);
      apply();
    },
    signals(next) {
      signals = next;
      apply();
    },
    reconsider: apply,
    current: () => decision,
    dispose() {
      recheck = clear(recheck);
      grace = clear(grace);
      runtime = undefined;
    },
  };
}

/**
 * The duty cycle: a worker rests after each task so that its busy time stays within its share.
 * A task of `b` ms at share `s` is followed by `b·(1 − s)/s` ms of rest, so over any stretch of
 * whole tasks and rests the worker is busy exactly `s` of the time, and over any window of `W` ms
 * at most `s·W + (1 − s)·b_max` (the window may cut one rest short): with tasks much shorter than
 * 10 s, a 10 s window sees its share plus a fraction of one task. Pure, with `now` passed in.
 */

/** The rest after `busyMs` of work at `share` (0 < share ≤ 1). */
export function restAfter(busyMs: number, share: number): number {
  if (!(share > 0) || share >= 1 || !(busyMs > 0)) return 0;
  return (busyMs * (1 - share)) / share;
}

/** Per-worker rests, as plain data. */
export interface Rests {
  /** Epoch ms until which each resting worker rests; one entry per resting worker. */
  readonly until: readonly number[];
}

export const NO_RESTS: Rests = { until: [] };

/** A worker finished a task of `busyMs` at `now`: it rests until `now + restAfter(busyMs, share)`. */
export function startRest(rests: Rests, busyMs: number, share: number, now: number): Rests {
  const rest = restAfter(busyMs, share);
  return rest > 0 ? { until: [...rests.until, now + rest] } : rests;
}

/** Forgets rests that are over by `now`. */
export function prune(rests: Rests, now: number): Rests {
  const until = rests.until.filter((end) => end > now);
  return until.length === rests.until.length ? rests : { until };
}

/** Workers free to start a task: the allowed workers minus the busy and the resting ones. */
export function freeWorkers(allowed: number, busy: number, rests: Rests, now: number): number {
  const resting = rests.until.filter((end) => end > now).length;
  return Math.max(0, allowed - busy - resting);
}

/** When the next rest ends, or `undefined` when none is running. */
export function nextRestEnd(rests: Rests, now: number): number | undefined {
  const ahead = rests.until.filter((end) => end > now);
  return ahead.length > 0 ? Math.min(...ahead) : undefined;
}

/**
 * The frame's own per-visitor limit of the page's `run()` calls (the site's `runPerMinute`), as a
 * pure decision over the times of the calls it allowed in the last minute. The coordinator keeps
 * its own limits on the grid fallback; this one also covers runs in the visitor's own pool.
 */

const MINUTE_MS = 60_000;

/** Whether a call at `now` is allowed, and the recent calls to keep (including it when allowed). */
export function allowRun(recent: readonly number[], perMinute: number, now: number): { allowed: boolean; recent: number[] } {
  const kept = recent.filter((at) => at > now - MINUTE_MS && at <= now);
  if (kept.length >= perMinute) return { allowed: false, recent: kept };
  return { allowed: true, recent: [...kept, now] };
}

/**
 * The live progress line of `job run`: done/total, failed, tasks per second over a sliding
 * window, ETA, volunteers online. Pure: samples in, text out; the rendering lives in render.ts.
 */

/** Tasks settled (completed, failed or cancelled) at a moment. */
export interface ProgressSample {
  at: number;
  done: number;
}

/** Rates are measured over the last 10 s: recent enough to follow changes, long enough to be steady. */
export const RATE_WINDOW_MS = 10_000;

/** Adds `sample` and drops those older than the window (keeping one before it as the baseline). */
export function addSample(samples: readonly ProgressSample[], sample: ProgressSample, windowMs = RATE_WINDOW_MS): ProgressSample[] {
  const all = [...samples, sample];
  let first = 0;
  while (first + 1 < all.length && sample.at - all[first + 1]!.at >= windowMs) first++;
  return all.slice(first);
}

/** Tasks per second across the samples; undefined until two samples a moment apart exist. */
export function ratePerSecond(samples: readonly ProgressSample[]): number | undefined {
  const first = samples[0];
  const last = samples.at(-1);
  if (!first || !last || last.at - first.at < 500) return undefined;
  return ((last.done - first.done) * 1000) / (last.at - first.at);
}

/** Milliseconds until `remaining` tasks are done at `rate` per second; undefined when unknown. */
export function etaMs(remaining: number, rate: number | undefined): number | undefined {
  if (remaining <= 0) return 0;
  if (rate === undefined || rate <= 0) return undefined;
  return (remaining / rate) * 1000;
}

/** `45s`, `2m 05s`, `3h 04m`, `2d 05h`. */
export function formatDuration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const pad = (n: number): string => String(n).padStart(2, '0');
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${pad(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${pad(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d ${pad(hours % 24)}h`;
}

/** `812`, `12.5`, `0.25`: enough digits to read, no more. */
export function formatRate(rate: number): string {
  if (rate >= 100) return Math.round(rate).toLocaleString('en-US');
  if (rate >= 10) return rate.toFixed(1);
  return rate.toFixed(2);
}

export interface ProgressView {
  done: number;
  total: number;
  failed: number;
  rate: number | undefined;
  /** Volunteers online, a label such as `4 local threads`, or undefined when unknown. */
  workers: number | string | undefined;
  /** The inputs are still being sent (the total is still growing). */
  uploading?: boolean;
}

const count = (n: number): string => n.toLocaleString('en-US');

/** The progress line, e.g. `1,234/100,000 done (1.2%), 3 failed, 812 tasks/s, ETA 2m 01s, 5 volunteers online`. */
export function formatProgress(view: ProgressView): string {
  const percent = view.total > 0 ? ` (${((view.done / view.total) * 100).toFixed(1)}%)` : '';
  const parts = [`${count(view.done)}/${count(view.total)}${view.uploading ? '+' : ''} done${percent}`, `${count(view.failed)} failed`];
  parts.push(view.rate === undefined ? '… tasks/s' : `${formatRate(view.rate)} tasks/s`);
  if (view.uploading) parts.push('sending inputs');
  else {
    const eta = etaMs(view.total - view.done, view.rate);
    parts.push(`ETA ${eta === undefined ? '?' : formatDuration(eta)}`);
  }
  if (typeof view.workers === 'number') parts.push(`${count(view.workers)} volunteer${view.workers === 1 ? '' : 's'} online`);
  else if (view.workers !== undefined) parts.push(view.workers);
  return parts.join(', ');
}

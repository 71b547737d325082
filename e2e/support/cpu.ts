/**
 * CPU time of the browser, read from `/proc` (Linux): the sum of user and system time of every
 * Chromium process, so a test can say how many cores the grid really took over a window.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ; 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

function chromiumTicks(): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readlinkSync(`/proc/${entry}/exe`).includes('chrom')) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: utime and stime are the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while we looked.
    }
  }
  return ticks;
}

/** Cores the browser used while `during` ran (CPU seconds per wall second). */
export async function measureBrowserCores(during: () => Promise<unknown>): Promise<number> {
  const ticksBefore = chromiumTicks();
  const started = performance.now();
  await during();
  const seconds = (performance.now() - started) / 1000;
  return (chromiumTicks() - ticksBefore) / TICKS_PER_SECOND / seconds;
}

/** Cores the browser uses over the next `ms`. */
export const browserCoresOver = (ms: number): Promise<number> =>
  measureBrowserCores(() => new Promise((resolve) => setTimeout(resolve, ms)));

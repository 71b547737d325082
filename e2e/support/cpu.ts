/**
 * CPU time of the browser, read from `/proc` (Linux): the sum of user and system time of every
 * Chromium process this test process started (its descendants: other browsers on a shared machine
 * do not count), so a test can say how many cores the grid really took over a window.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` (USER_HZ; 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

interface Proc {
  parent: number;
  ticks: number;
  chromium: boolean;
}

function processes(): Map<number, Proc> {
  const all = new Map<number, Proc>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: ppid is the 2nd, utime and stime the 12th and 13th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      let chromium = false;
      try {
        chromium = readlinkSync(`/proc/${entry}/exe`).includes('chrom');
      } catch {
        // Not ours to read.
      }
      all.set(Number(entry), { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), chromium });
    } catch {
      // The process ended while we looked.
    }
  }
  return all;
}

function chromiumTicks(): number {
  const all = processes();
  const ours = (pid: number): boolean => {
    for (let at = pid, hops = 0; at > 1 && hops < 64; hops += 1) {
      if (at === process.pid) return true;
      at = all.get(at)?.parent ?? 0;
    }
    return false;
  };
  let ticks = 0;
  for (const [pid, proc] of all) if (proc.chromium && ours(pid)) ticks += proc.ticks;
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

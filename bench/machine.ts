/** The machine a benchmark ran on, for the report. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  chromium: string;
}

export function describeMachine(chromiumPath: string): Machine {
  let chromium = 'unknown';
  try {
    chromium = execFileSync(chromiumPath, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // Reported as unknown: the browser figure will say it could not run.
  }
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    chromium,
  };
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux). */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  try {
    const { readFile } = await import('node:fs/promises');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * CPU time (ms) used so far by every live descendant of `root` (Linux /proc), e.g. a browser's
 * processes and a coordinator child; processes that exited are not counted.
 */
export async function descendantsCpuMs(root: number): Promise<number> {
  const { readdir, readFile } = await import('node:fs/promises');
  const parents = new Map<number, number>();
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => undefined);
    if (stat) parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const found = new Set<number>();
  const walk = (parent: number): void => {
    for (const [pid, ppid] of parents) if (ppid === parent && !found.has(pid)) (found.add(pid), walk(pid));
  };
  walk(root);
  let total = 0;
  for (const pid of found) total += (await processCpuMs(pid)) ?? 0;
  return total;
}

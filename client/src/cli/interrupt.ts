/**
 * Ctrl-C during `job run`: on a terminal, ask whether to cancel the job or leave it running;
 * otherwise (a script, CI) leave it running, since a job may be worth more than the process.
 */
import { createInterface } from 'node:readline/promises';

export type InterruptChoice = 'cancel' | 'leave';

/** The first SIGINT, as a promise (and a disposer that removes the listener). */
export function nextInterrupt(): { promise: Promise<void>; dispose(): void } {
  let handler: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    handler = () => resolve();
    process.once('SIGINT', handler);
  });
  return { promise, dispose: () => process.off('SIGINT', handler) };
}

/** Reads the choice from a terminal; a second Ctrl-C or a closed input leaves the job running. */
export async function askCancelOrLeave(jobId: string): Promise<InterruptChoice> {
  if (!process.stdin.isTTY) return 'leave';
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const abort = new AbortController();
  rl.once('SIGINT', () => abort.abort());
  rl.once('close', () => abort.abort());
  try {
    const answer = await rl.question(`\nCancel job ${jobId}? [c]ancel it / [l]eave it running (default): `, { signal: abort.signal });
    return /^\s*c/i.test(answer) ? 'cancel' : 'leave';
  } catch {
    return 'leave';
  } finally {
    rl.close();
  }
}

/**
 * One pool per visitor and site: the frame that holds the site's Web Lock leads and runs the
 * pool; the others wait in the lock's queue. Chromium and Firefox partition locks per top-level
 * site, as they do the frame's storage, so "every tab of this site in this browser" is exactly
 * the lock's scope. When the leading tab closes, the browser hands the lock to the next waiting
 * frame at once.
 */
import type { Disposer } from '../runtime/timers.ts';

/** The part of `navigator.locks` used here. */
export interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: (lock: unknown) => Promise<void>): Promise<unknown>;
}

/**
 * Waits for leadership of `name`, calls `onLead` when this frame gets it, and keeps it until the
 * returned disposer is called (then `onLead`'s own work must already be stopped). Without Web
 * Locks (an old browser) this frame leads at once: several tabs may then run several pools.
 */
export function requestLeadership(locks: LockManagerLike | undefined, name: string, onLead: () => void): Disposer {
  if (!locks) {
    onLead();
    return () => {};
  }
  const abort = new AbortController();
  let release: (() => void) | undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  locks
    .request(name, { signal: abort.signal }, async () => {
      onLead();
      await held;
    })
    .catch(() => {
      // Aborted while waiting: this frame no longer wants to lead. Refused (a browser that blocks
      // this frame's storage refuses its locks too): lead alone, as without Web Locks.
      if (!abort.signal.aborted) onLead();
    });
  return () => {
    abort.abort();
    release?.();
  };
}

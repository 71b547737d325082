/** Messages from the frame to the loader in the embedding page. */
import type { FrameMessage } from '../embed/messages.ts';

/**
 * The embedding page's origin, so messages go to it alone: Chromium tells it through
 * `ancestorOrigins`; elsewhere the referrer's origin. `*` is the last resort when neither is
 * known (a page with `no-referrer` outside Chromium): messages then go to whatever page is the
 * frame's parent, which is the page that asked, unless it navigated away meanwhile; the page's own
 * run outputs are the only data they carry beyond sizes, state and counts.
 */
export function parentOrigin(): string {
  const ancestor = location.ancestorOrigins?.[0];
  if (ancestor) return ancestor;
  try {
    return new URL(document.referrer).origin;
  } catch {
    return '*';
  }
}

/** Posts `message` to the embedding page, when there is one. */
export function postToParent(message: FrameMessage, target: string): void {
  if (window.parent !== window) window.parent.postMessage(message, target);
}

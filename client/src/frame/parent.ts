/** Messages from the frame to the loader in the embedding page. */
import type { FrameMessage } from '../embed/messages.ts';

/**
 * The embedding page's origin, so messages go to it alone: Chromium tells it through
 * `ancestorOrigins`; elsewhere the referrer's origin (the loader's frame URL carries no secret,
 * and the messages only carry sizes and the consent state, so `*` is the harmless last resort).
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

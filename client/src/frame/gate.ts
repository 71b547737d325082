/**
 * Consent that cannot be clickjacked. A click on "Allow" counts only when the visitor can really
 * see what they click:
 * - the banner has been fully visible for at least `MIN_VISIBLE_MS`, as the browser itself reports
 *   (IntersectionObserver v2, `trackVisibility`: false when the frame or an ancestor is transparent,
 *   covered, transformed or filtered, however the host page arranges it);
 * - a pointer click follows real pointer movement inside the frame (screen coordinates that
 *   changed): a frame slid under a still pointer sees only the browser's synthetic moves, at one
 *   screen position. Keyboard activation needs focus inside the frame, which a page cannot give
 *   its visitor's keys without the visitor tabbing there.
 * Where the browser cannot report visibility, "Allow" leads to a confirmation whose buttons sit in
 * an order the host page cannot know (it cannot see into the frame), so a click it planned for the
 * first step lands on the second step's buttons only by chance.
 */

/** How long the banner must have been fully visible before a click on it counts. */
export const MIN_VISIBLE_MS = 800;
/** Screen distance the pointer must have moved inside the frame before a click counts. */
export const MIN_POINTER_TRAVEL_PX = 4;

export type VisibilitySupport = 'tracked' | 'untracked';

export interface GateFacts {
  support: VisibilitySupport;
  /** Since when the banner is fully visible (ms, `performance.now()`), or `undefined` while it is not. */
  visibleSince: number | undefined;
  now: number;
  via: 'pointer' | 'keyboard';
  /** The pointer moved at least `MIN_POINTER_TRAVEL_PX` on screen inside the frame since it entered. */
  pointerMoved: boolean;
}

/** `accept`: the click counts; `not-visible`: it does not; `confirm`: ask again in a way the page cannot predict. */
export type GateVerdict = 'accept' | 'not-visible' | 'confirm';

export function judgeAllow(facts: GateFacts): GateVerdict {
  if (facts.via === 'pointer' && !facts.pointerMoved) return 'not-visible';
  if (facts.support === 'untracked') return 'confirm';
  if (facts.visibleSince === undefined || facts.now - facts.visibleSince < MIN_VISIBLE_MS) return 'not-visible';
  return 'accept';
}

/** A shuffled copy of `items`, from `random` in [0, 1). */
export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/** Watches the element's real visibility and the pointer's movement in this document. */
export interface VisibilityWatch {
  readonly support: VisibilitySupport;
  visibleSince(): number | undefined;
  pointerMoved(): boolean;
  dispose(): void;
}

export function watchVisibility(element: Element, now: () => number = () => performance.now()): VisibilityWatch {
  const tracked = typeof IntersectionObserverEntry !== 'undefined' && 'isVisible' in IntersectionObserverEntry.prototype;
  let since: number | undefined;
  const observer = tracked
    ? new IntersectionObserver(
        (entries) => {
          for (const entry of entries) {
            const visible = (entry as IntersectionObserverEntry & { isVisible?: boolean }).isVisible === true && entry.intersectionRatio >= 0.99;
            if (!visible) since = undefined;
            else if (since === undefined) since = now();
          }
        },
        // `trackVisibility` needs `delay` ≥ 100 ms; the threshold 1 asks for the whole banner.
        { threshold: [0, 1], trackVisibility: true, delay: 100 } as IntersectionObserverInit,
      )
    : undefined;
  observer?.observe(element);

  let origin: { x: number; y: number } | undefined;
  let moved = false;
  const onMove = (event: PointerEvent): void => {
    if (!origin) origin = { x: event.screenX, y: event.screenY };
    else if (Math.hypot(event.screenX - origin.x, event.screenY - origin.y) >= MIN_POINTER_TRAVEL_PX) moved = true;
  };
  // Leaving the frame starts the count again: the page may move the frame while the pointer is out.
  const onLeave = (): void => {
    origin = undefined;
    moved = false;
  };
  document.addEventListener('pointermove', onMove, true);
  document.documentElement.addEventListener('pointerleave', onLeave);

  return {
    support: tracked ? 'tracked' : 'untracked',
    visibleSince: () => since,
    pointerMoved: () => moved,
    dispose() {
      observer?.disconnect();
      document.removeEventListener('pointermove', onMove, true);
      document.documentElement.removeEventListener('pointerleave', onLeave);
    },
  };
}

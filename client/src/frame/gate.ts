/**
 * Consent that cannot be clickjacked. A click on "Allow" counts only when the visitor can really
 * see what they click:
 * - the banner has been fully visible for at least `MIN_VISIBLE_MS`, as the browser itself reports
 *   (IntersectionObserver v2, `trackVisibility`: false when the frame or an ancestor is transparent,
 *   covered, transformed or filtered, however the host page arranges it);
 * - a mouse click follows real pointer movement inside the frame (screen coordinates that
 *   changed): a frame slid under a still pointer sees only the browser's synthetic moves, at one
 *   screen position; the pointer has been inside for `MIN_POINTER_DWELL_MS`, and the banner was
 *   visible before it arrived. A tap needs no travel (no finger rests over a page while a frame
 *   slides under it). Keyboard activation needs focus inside the frame, which a page cannot give
 *   its visitor's keys without the visitor tabbing there.
 * Where the browser cannot report visibility, "Allow" leads to a confirmation whose buttons sit in
 * an order the host page cannot know (it cannot see into the frame), so a click it planned for the
 * first step lands on the second step's buttons only by chance.
 */

/** How long the banner must have been fully visible before a click on it counts. */
export const MIN_VISIBLE_MS = 800;
/** Screen distance the pointer must have moved inside the frame before a click counts. */
export const MIN_POINTER_TRAVEL_PX = 4;
/**
 * How long the pointer must have been inside the frame before a click counts: the browser reports
 * visibility every 100 ms at best, so at least one report falls between the pointer's arrival and
 * the click (a page that hides the frame as the pointer enters is seen doing it).
 */
export const MIN_POINTER_DWELL_MS = 150;

export type VisibilitySupport = 'tracked' | 'untracked';

export interface GateFacts {
  support: VisibilitySupport;
  /** Since when the banner is fully visible (ms, `performance.now()`), or `undefined` while it is not. */
  visibleSince: number | undefined;
  now: number;
  /** A mouse click, a tap (touch or pen: no pointer rests over a page between taps), or a key. */
  via: 'pointer' | 'tap' | 'keyboard';
  /** The pointer moved at least `MIN_POINTER_TRAVEL_PX` on screen inside the frame since it entered. */
  pointerMoved: boolean;
  /** When the pointer entered the frame (ms, `performance.now()`), or `undefined`. */
  pointerSince: number | undefined;
}

/** `accept`: the click counts; `not-visible`: it does not; `confirm`: ask again in a way the page cannot predict. */
export type GateVerdict = 'accept' | 'not-visible' | 'confirm';

export function judgeAllow(facts: GateFacts): GateVerdict {
  if (facts.via === 'pointer') {
    if (!facts.pointerMoved || facts.pointerSince === undefined) return 'not-visible';
    if (facts.now - facts.pointerSince < MIN_POINTER_DWELL_MS) return 'not-visible';
  }
  if (facts.support === 'untracked') return 'confirm';
  if (facts.visibleSince === undefined || facts.now - facts.visibleSince < MIN_VISIBLE_MS) return 'not-visible';
  // Visible only since after the pointer arrived: the frame came to the pointer, not the reverse.
  if (facts.via === 'pointer' && facts.pointerSince !== undefined && facts.visibleSince > facts.pointerSince) return 'not-visible';
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
  /** When the pointer entered the frame (its first event here since it last left). */
  pointerSince(): number | undefined;
  /** The type of the last pointer pressed here (`mouse`, `touch`, `pen`). */
  lastPointerType(): string | undefined;
  dispose(): void;
}

export function watchVisibility(element: Element, now: () => number = () => performance.now()): VisibilityWatch {
  const tracked = typeof IntersectionObserverEntry !== 'undefined' && 'isVisible' in IntersectionObserverEntry.prototype;
  let since: number | undefined;
  let origin: { x: number; y: number; at: number } | undefined;
  let moved = false;
  const observer = tracked
    ? new IntersectionObserver(
        (entries) => {
          for (const entry of entries) {
            const visible = (entry as IntersectionObserverEntry & { isVisible?: boolean }).isVisible === true && entry.intersectionRatio >= 0.99;
            if (!visible) since = undefined;
            else if (since === undefined) {
              since = now();
              // The pointer's arrival counts from here: a banner that appears (or is moved) under
              // the pointer needs it to move again, in the open, before a click counts.
              origin = undefined;
              moved = false;
            }
          }
        },
        // `trackVisibility` needs `delay` ≥ 100 ms; the threshold 1 asks for the whole banner.
        { threshold: [0, 1], trackVisibility: true, delay: 100 } as IntersectionObserverInit,
      )
    : undefined;
  observer?.observe(element);

  let pointerType: string | undefined;
  const onMove = (event: PointerEvent): void => {
    if (!origin) origin = { x: event.screenX, y: event.screenY, at: now() };
    else if (Math.hypot(event.screenX - origin.x, event.screenY - origin.y) >= MIN_POINTER_TRAVEL_PX) moved = true;
  };
  const onDown = (event: PointerEvent): void => {
    pointerType = event.pointerType;
    onMove(event);
  };
  // Leaving the frame starts the count again: the page may move the frame while the pointer is out.
  const onLeave = (): void => {
    origin = undefined;
    moved = false;
  };
  document.addEventListener('pointermove', onMove, true);
  document.addEventListener('pointerdown', onDown, true);
  document.documentElement.addEventListener('pointerleave', onLeave);

  return {
    support: tracked ? 'tracked' : 'untracked',
    visibleSince: () => since,
    pointerMoved: () => moved,
    pointerSince: () => origin?.at,
    lastPointerType: () => pointerType,
    dispose() {
      observer?.disconnect();
      document.removeEventListener('pointermove', onMove, true);
      document.removeEventListener('pointerdown', onDown, true);
      document.documentElement.removeEventListener('pointerleave', onLeave);
    },
  };
}

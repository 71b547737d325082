/**
 * The small vocabulary between the loader in the host page and the frame. The loader trusts a
 * message only when it comes from the coordinator's origin and the frame it added, and only after
 * `parseFrameMessage` accepts its shape. Kept tiny: it is bundled into the loader.
 */

/** The frame's content changed size (CSS pixels). */
export interface ResizeMessage {
  type: 'sparecycles:resize';
  width: number;
  height: number;
}

/** The visitor's consent state changed (one of the frame's `ConsentState` values). */
export interface StateMessage {
  type: 'sparecycles:state';
  state: 'undecided' | 'accepted' | 'declined' | 'paused';
}

export type FrameMessage = ResizeMessage | StateMessage;

/** Largest frame the loader lets the frame ask for: it stays a small corner of the page. */
export const MAX_FRAME = { width: 420, height: 360 } as const;

const STATES = ['undecided', 'accepted', 'declined', 'paused'];

const clamp = (value: unknown, max: number): number | undefined =>
  typeof value === 'number' && value >= 0 && value < 1e5 ? Math.min(Math.ceil(value), max) : undefined;

/** The message if `data` is a well-formed frame message (sizes clamped), else `undefined`. */
export function parseFrameMessage(data: unknown): FrameMessage | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const message = data as Record<string, unknown>;
  if (message['type'] === 'sparecycles:resize') {
    const width = clamp(message['width'], MAX_FRAME.width);
    const height = clamp(message['height'], MAX_FRAME.height);
    return width === undefined || height === undefined ? undefined : { type: 'sparecycles:resize', width, height };
  }
  if (message['type'] === 'sparecycles:state' && STATES.includes(message['state'] as string)) {
    return { type: 'sparecycles:state', state: message['state'] as StateMessage['state'] };
  }
  return undefined;
}

/**
 * The loader tells the frame what only the host page sees: a long task on its main thread, or its
 * visitor's input, at most once a second of each kind. The frame can only pause on these, so a
 * page that sends them falsely only makes the grid do less.
 */
export interface HostBusyMessage {
  type: 'sparecycles:busy';
  kind: 'longtask' | 'input';
}

/** The message if `data` is a well-formed host message, else `undefined`. */
export function parseHostMessage(data: unknown): HostBusyMessage | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const message = data as Record<string, unknown>;
  if (message['type'] !== 'sparecycles:busy') return undefined;
  return message['kind'] === 'longtask' || message['kind'] === 'input' ? { type: 'sparecycles:busy', kind: message['kind'] } : undefined;
}

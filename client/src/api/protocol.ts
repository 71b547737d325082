/**
 * The host page's own API on the wire: what the page's `api.js` and the frame say to each other by
 * `postMessage`, once, for both sides. Each side accepts a message only from the other's window
 * and origin, and only after these parsers accept its shape (anything else is dropped unread).
 * A small vocabulary of our own rather than comlink's window endpoint: comlink would let the page
 * walk and call anything reachable from the exposed object, where this accepts four shapes.
 */

/** Where a run's output came from: the visitor's own pool, or a grid volunteer. */
export type RanOn = 'visitor' | 'grid';

/** Why a run failed, as the promise rejects: `{ code, message }`. */
export type RunErrorCode =
  | 'module_not_allowed'
  | 'rate_limited'
  | 'no_volunteer'
  | 'trap'
  | 'timeout'
  | 'memory'
  | 'invalid'
  | 'payload_too_large'
  | 'bad_request'
  | 'unavailable';

export interface RunError {
  code: RunErrorCode;
  message: string;
}

/** The page's choices for one run. */
export interface RunOptions {
  /** The whole run's time limit, in ms (default 60 000). */
  timeoutMs?: number;
  /** How long to wait for a free worker in the visitor's pool before the grid, in ms (default 2000). */
  queueMs?: number;
  /** `grid` (default): run on the grid when the visitor's pool cannot; `none`: reject `no_volunteer`. */
  fallback?: 'grid' | 'none';
}

/** Page → frame. */
export type PageRequest =
  | { type: 'sparecycles:run'; id: number; module: string; input: Uint8Array; options: Required<RunOptions> }
  | { type: 'sparecycles:pause' }
  | { type: 'sparecycles:resume' };

/** The visitor's pool as the page may see it: counts only. */
export interface PageStats {
  running: number;
  completed: number;
  cpuMs: number;
}

/** Frame → page. */
export type FrameReply =
  | { type: 'sparecycles:ran'; id: number; output: Uint8Array; ranOn: RanOn }
  | { type: 'sparecycles:failed'; id: number; error: RunError }
  | { type: 'sparecycles:stats'; stats: PageStats };

/** The largest input a page may hand the frame (the coordinator's own limit may be lower). */
export const MAX_RUN_INPUT_BYTES = 16 * 1024 * 1024;
export const DEFAULT_RUN_OPTIONS: Required<RunOptions> = Object.freeze({ timeoutMs: 60_000, queueMs: 2_000, fallback: 'grid' });
const MAX_TIMEOUT_MS = 600_000;

const CODES: readonly RunErrorCode[] = [
  'module_not_allowed',
  'rate_limited',
  'no_volunteer',
  'trap',
  'timeout',
  'memory',
  'invalid',
  'payload_too_large',
  'bad_request',
  'unavailable',
];
const HASH = /^[0-9a-f]{64}$/;

const record = (data: unknown): Record<string, unknown> | undefined =>
  typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : undefined;
const id = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const count = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const ms = (value: unknown, fallback: number): number | undefined =>
  value === undefined ? fallback : count(value) && value <= MAX_TIMEOUT_MS ? Math.floor(value) : undefined;

/** Normalises the page's options (defaults filled in), or `undefined` when one is malformed. */
export function parseRunOptions(data: unknown): Required<RunOptions> | undefined {
  const given = data === undefined ? {} : record(data);
  if (!given) return undefined;
  const timeoutMs = ms(given['timeoutMs'], DEFAULT_RUN_OPTIONS.timeoutMs);
  const queueMs = ms(given['queueMs'], DEFAULT_RUN_OPTIONS.queueMs);
  const fallback = given['fallback'] ?? DEFAULT_RUN_OPTIONS.fallback;
  if (timeoutMs === undefined || queueMs === undefined || (fallback !== 'grid' && fallback !== 'none')) return undefined;
  return { timeoutMs, queueMs, fallback };
}

/** The page's request if `data` is well formed, else `undefined`. */
export function parsePageRequest(data: unknown): PageRequest | undefined {
  const message = record(data);
  if (!message) return undefined;
  if (message['type'] === 'sparecycles:pause' || message['type'] === 'sparecycles:resume') return { type: message['type'] };
  if (message['type'] !== 'sparecycles:run') return undefined;
  const { id: runId, module, input } = message;
  if (!id(runId) || typeof module !== 'string' || !HASH.test(module)) return undefined;
  if (!(input instanceof Uint8Array) || input.byteLength > MAX_RUN_INPUT_BYTES) return undefined;
  const options = parseRunOptions(message['options']);
  return options ? { type: 'sparecycles:run', id: runId, module, input, options } : undefined;
}

/** The frame's reply if `data` is well formed, else `undefined`. */
export function parseFrameReply(data: unknown): FrameReply | undefined {
  const message = record(data);
  if (!message) return undefined;
  if (message['type'] === 'sparecycles:ran') {
    const { id: runId, output, ranOn } = message;
    if (!id(runId) || !(output instanceof Uint8Array) || (ranOn !== 'visitor' && ranOn !== 'grid')) return undefined;
    return { type: 'sparecycles:ran', id: runId, output, ranOn };
  }
  if (message['type'] === 'sparecycles:failed') {
    const error = record(message['error']);
    const code = error?.['code'];
    const text = error?.['message'];
    if (!id(message['id']) || !CODES.includes(code as RunErrorCode) || typeof text !== 'string') return undefined;
    return { type: 'sparecycles:failed', id: message['id'], error: { code: code as RunErrorCode, message: text.slice(0, 2000) } };
  }
  if (message['type'] === 'sparecycles:stats') {
    const stats = record(message['stats']);
    if (!stats || !count(stats['running']) || !count(stats['completed']) || !count(stats['cpuMs'])) return undefined;
    return { type: 'sparecycles:stats', stats: { running: stats['running'], completed: stats['completed'], cpuMs: stats['cpuMs'] } };
  }
  return undefined;
}

/** A run error from anything: a known code kept, any other becomes `unavailable`. */
export function runError(code: string, message: string): RunError {
  return { code: CODES.includes(code as RunErrorCode) ? (code as RunErrorCode) : 'unavailable', message };
}

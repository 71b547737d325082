/**
 * The host page's own API, typed, for pages built with a bundler:
 *
 *   import { SpareCycles } from 'sparecycles';
 *   const output = await SpareCycles.run(moduleHash, input, { timeoutMs: 10_000 });
 *
 * It is a typed view of the `window.sparecycles` that the embed snippet's loader defines; the
 * implementation loads from the coordinator on first use. Nothing here runs any work itself.
 */
import type { PageApi, RunReport } from './page.ts';
import type { PageStats, RanOn, RunError, RunErrorCode, RunOptions } from './protocol.ts';

export type { PageApi, PageStats, RanOn, RunError, RunErrorCode, RunOptions, RunReport };

/** The visitor's choice, as the frame reports it (`undefined` until the frame has loaded). */
export type SharingState = 'undecided' | 'accepted' | 'declined' | 'paused';

/** `window.sparecycles`: events `state` (detail: `{ state }`) and `stats` (detail: `PageStats`). */
export interface SpareCyclesApi extends EventTarget, PageApi {
  readonly state: SharingState | undefined;
}

function host(): SpareCyclesApi {
  const api = (globalThis as { sparecycles?: SpareCyclesApi }).sparecycles;
  if (!api) throw new Error('sparecycles: the embed snippet is not on this page (or has not run yet)');
  return api;
}

/** The page's API, forwarding to `window.sparecycles` at each call. */
export const SpareCycles = {
  get state(): SharingState | undefined {
    return (globalThis as { sparecycles?: SpareCyclesApi }).sparecycles?.state;
  },
  run: (module: string, input: Uint8Array, options?: RunOptions): Promise<Uint8Array> => host().run(module, input, options),
  runDetailed: (module: string, input: Uint8Array, options?: RunOptions): Promise<RunReport> => host().runDetailed(module, input, options),
  pause: (): Promise<void> => host().pause(),
  resume: (): Promise<void> => host().resume(),
  /** Follows `state` (detail `{ state }`) or `stats` (detail `PageStats`); returns the disposer. */
  on(type: 'state' | 'stats', listener: (detail: unknown) => void): () => void {
    const handler = (event: Event): void => listener((event as CustomEvent).detail);
    host().addEventListener(type, handler);
    return () => host().removeEventListener(type, handler);
  },
} as const;

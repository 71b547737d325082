/**
 * Messages between the frames of one site in the visitor's browser (every tab that embeds it), on
 * a BroadcastChannel named after the site key; browsers partition channels per top-level site like
 * the frame's storage. The leader tells the others what the pool does; every tab says whether its
 * page is visible. Consent and share travel through storage (choice.ts), not here.
 */
import type { PauseReason } from '../runtime/policy.ts';
import type { LeaseJob } from '../runtime/volunteer-loop.ts';

/** What the leading frame's pool is doing, for every tab's control. */
export interface PoolStatus {
  running: number;
  resting: number;
  /** Accepted results and their worker milliseconds in the pool's current run. */
  completed: number;
  cpuMs: number;
  pausedBy: PauseReason[];
  jobs: LeaseJob[];
  error?: string | undefined;
}

export type TabMessage =
  | { type: 'status'; status: PoolStatus }
  /** A frame that just opened asks the leader for its status. */
  | { type: 'hello' }
  /** A tab's page became visible or hidden (the pool pauses only when no tab of the site is visible). */
  | { type: 'visibility'; tab: string; visible: boolean }
  /** A tab is going away. */
  | { type: 'bye'; tab: string }
  /** A tab's host page reported a long task or its visitor's input (the leader backs off for all). */
  | { type: 'busy'; kind: 'longtask' | 'input' };

const REASONS: readonly PauseReason[] = ['visitor', 'battery', 'save-data', 'hidden', 'pressure', 'page-busy', 'page-input'];

const count = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const text = (value: unknown): value is string | null => value === null || (typeof value === 'string' && value.length <= 1000);

/** The message if `data` is well formed (another frame of the same origin sent it, but check anyway). */
export function parseTabMessage(data: unknown): TabMessage | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const message = data as Record<string, unknown>;
  if (message['type'] === 'hello') return { type: 'hello' };
  const tab = message['tab'];
  const tabOk = typeof tab === 'string' && tab.length > 0 && tab.length <= 64;
  if (message['type'] === 'visibility' && tabOk && typeof message['visible'] === 'boolean') {
    return { type: 'visibility', tab: tab as string, visible: message['visible'] };
  }
  if (message['type'] === 'bye' && tabOk) return { type: 'bye', tab: tab as string };
  if (message['type'] === 'busy' && (message['kind'] === 'longtask' || message['kind'] === 'input')) {
    return { type: 'busy', kind: message['kind'] };
  }
  if (message['type'] !== 'status' || typeof message['status'] !== 'object' || message['status'] === null) return undefined;
  const status = message['status'] as Record<string, unknown>;
  const jobs = status['jobs'];
  const pausedBy = status['pausedBy'];
  if (![status['running'], status['resting'], status['completed'], status['cpuMs']].every(count)) return undefined;
  if (!Array.isArray(pausedBy) || !pausedBy.every((reason) => REASONS.includes(reason as PauseReason))) return undefined;
  if (!Array.isArray(jobs) || jobs.length > 16) return undefined;
  const validJobs = jobs.every(
    (job: unknown) =>
      typeof job === 'object' && job !== null && typeof (job as LeaseJob).id === 'string' && text((job as LeaseJob).title) && text((job as LeaseJob).purpose),
  );
  if (!validJobs) return undefined;
  const error = status['error'];
  if (error !== undefined && typeof error !== 'string') return undefined;
  return {
    type: 'status',
    status: {
      running: status['running'] as number,
      resting: status['resting'] as number,
      completed: status['completed'] as number,
      cpuMs: status['cpuMs'] as number,
      pausedBy: pausedBy as PauseReason[],
      jobs: (jobs as LeaseJob[]).map(({ id, title, purpose }) => ({ id, title, purpose })),
      ...(typeof error === 'string' ? { error } : {}),
    },
  };
}

export interface Tabs {
  post(message: TabMessage): void;
  close(): void;
}

/** Opens the site's channel; `onMessage` gets every well-formed message from the other frames. */
export function openTabs(siteKey: string, onMessage: (message: TabMessage) => void): Tabs {
  if (typeof BroadcastChannel === 'undefined') return { post() {}, close() {} };
  const channel = new BroadcastChannel(`sparecycles:${siteKey}`);
  channel.onmessage = (event: MessageEvent) => {
    const message = parseTabMessage(event.data);
    if (message) onMessage(message);
  };
  return { post: (message) => channel.postMessage(message), close: () => channel.close() };
}

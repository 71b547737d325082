/**
 * The frame's side of the host page's own API (`window.sparecycles`, client/src/api/): takes the
 * page's `run()`, `pause()` and `resume()` requests, and answers each run with its output or a
 * coded error. A message counts only from the embedding page (`window.parent`, its origin) and in
 * the shapes `parsePageRequest` accepts.
 *
 * Where a run goes:
 *   not allowed (not in the site's `runModules`) or over `runPerMinute` → refused at once;
 *   the visitor shares (accepted) → the leading tab's pool, ahead of grid work (relayed over the
 *     site's BroadcastChannel from a tab that does not lead);
 *   declined, undecided, paused, or no worker free within `queueMs` → the grid, as a one-task job
 *     of the site (`POST /api/v1/sites/:key/run`, then long-polls of its result), unless the page
 *     said `fallback: 'none'` (`no_volunteer`).
 * A task that ran and failed (trap, memory, time limit) is not run again elsewhere: it would fail
 * the same way.
 */
import { allowRun } from '../api/rate.ts';
import { runError, type PageRequest, type PageStats, type RunError } from '../api/protocol.ts';
import type { Signals } from '../runtime/policy.ts';
import type { PoolOutcome } from '../runtime/pool.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { parsePageRequest } from '../api/protocol.ts';
import type { ConsentState } from './consent.ts';

export interface PageApiDeps {
  siteKey: string;
  settings: { runModules: readonly string[]; runPerMinute: number };
  /** The embedding page's origin (`*` when the browser does not say). */
  target: string;
  consent(): ConsentState;
  /** Whether this frame leads the site's tabs (runs, or is starting, the pool). */
  leading(): boolean;
  /** The leading tab's started runtime (undefined elsewhere or while it starts). */
  runtime(): Runtime | undefined;
  /** The idle policy's input: the browser's signals plus the page's own pause. */
  onSignals(signals: Signals): void;
  now?: () => number;
  fetch?: typeof fetch;
}

export interface PageApi {
  /** The browser's signals, passed on with the page's pause added. */
  signals(signals: Signals): void;
  /** The pool's counts, for the page's `stats` events (posted when they change). */
  stats(stats: PageStats | undefined): void;
  dispose(): void;
}

type Local = { ok: true; output: Uint8Array } | { ok: false; error: RunError } | 'busy';

/** A relayed run between the site's tabs (on its own channel, next to tabs.ts's). */
type Relay =
  | { type: 'run'; rid: string; module: string; input: Uint8Array; timeoutMs: number; queueMs: number }
  | { type: 'ran'; rid: string; result: Local }
  /** The leader took a relayed run: the asker waits for its result, not for a leader any more. */
  | { type: 'taken'; rid: string };

const RELAY_GRACE_MS = 1_000;
const POLL_MS = 100;
const LONG_POLL_MS = 20_000;
const WATCH_RETRY_MS = 1_000;
/** The coordinator's `MAX_RUN_WATCH_IDS`. */
const MAX_WATCH_IDS = 64;

/** A pool outcome as a run's answer: `busy` when it never really ran (cancelled: run it elsewhere). */
export function localResult(outcome: PoolOutcome | 'busy'): Local {
  if (outcome === 'busy' || (!outcome.ok && outcome.kind === 'cancelled')) return 'busy';
  if (outcome.ok) return { ok: true, output: outcome.output };
  return { ok: false, error: runError(outcome.kind, outcome.message) };
}

export function createPageApi(deps: PageApiDeps): PageApi {
  const { siteKey, settings, target } = deps;
  const now = deps.now ?? Date.now;
  const fetchImpl = deps.fetch ?? fetch.bind(globalThis);
  let recent: number[] = [];
  let pagePaused = false;
  let lastSignals: Signals = {};
  let lastStats = '';
  const relays = new Map<string, { settle(result: Local): void; taken(): void }>();
  const channel = typeof BroadcastChannel === 'undefined' ? undefined : new BroadcastChannel(`sparecycles:run:${siteKey}`);

  const reply = (message: object, transfer: Transferable[] = []): void => {
    if (window.parent !== window) window.parent.postMessage(message, target, transfer);
  };
  const fail = (id: number, error: RunError): void => reply({ type: 'sparecycles:failed', id, error });

  async function runHere(module: string, input: Uint8Array, timeoutMs: number, queueMs: number): Promise<Local> {
    // Right after "Allow" the runtime is still starting: give it the queue time.
    const until = now() + queueMs;
    let runtime = deps.runtime();
    while (!runtime && now() < until) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      runtime = deps.runtime();
    }
    if (!runtime) return 'busy';
    return localResult(await runtime.runLocal(module, input, { timeoutMs, queueMs: Math.max(0, until - now()) }));
  }

  /** Through the leading tab: here when this frame leads, else relayed over the site's channel. */
  async function runInPool(module: string, input: Uint8Array, timeoutMs: number, queueMs: number): Promise<Local> {
    if (deps.leading() || !channel) return runHere(module, input, timeoutMs, queueMs);
    const rid = `${now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    return new Promise<Local>((resolve) => {
      // No leader took it within the queue time (none yet, or it closed): the grid takes it, with
      // the page's time still left. Once taken, the leader has the run's own time limit.
      let timer = setTimeout(() => settle('busy'), queueMs + RELAY_GRACE_MS);
      const settle = (result: Local): void => {
        clearTimeout(timer);
        relays.delete(rid);
        resolve(result);
      };
      const taken = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => settle('busy'), queueMs + timeoutMs + RELAY_GRACE_MS);
      };
      relays.set(rid, { settle, taken });
      channel.postMessage({ type: 'run', rid, module, input, timeoutMs, queueMs } satisfies Relay);
    });
  }

  // Runs on the grid, waited for together: one held request for all of them (a browser keeps six
  // connections per host; a long-poll per run would starve the runtime's socket and downloads).
  const base = `/api/v1/sites/${encodeURIComponent(siteKey)}`;
  const watched = new Map<string, () => void>();
  let watching: AbortController | undefined;

  async function watch(): Promise<void> {
    while (watched.size > 0) {
      watching = new AbortController();
      const ids = [...watched.keys()].slice(0, MAX_WATCH_IDS);
      try {
        const response = await fetchImpl(`${base}/runs?ids=${ids.join(',')}&waitMs=${LONG_POLL_MS}`, { signal: watching.signal });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        const { settled } = (await response.json()) as { settled: string[] };
        for (const id of settled) watched.get(id)?.();
      } catch (error) {
        // A new run joined (aborted on purpose), or the coordinator did not answer: look again soon.
        if (!watching.signal.aborted) await new Promise((resolve) => setTimeout(resolve, WATCH_RETRY_MS));
      }
    }
    watching = undefined;
  }

  async function runOnGrid(module: string, input: Uint8Array, deadline: number): Promise<Local> {
    const failure = async (response: Response): Promise<Local> => {
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      return { ok: false, error: runError(body.error?.code ?? 'unavailable', body.error?.message ?? `HTTP ${response.status}`) };
    };
    try {
      const created = await fetchImpl(`${base}/run?module=${module}`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: new Uint8Array(input),
      });
      if (created.status !== 202) return await failure(created);
      const { id } = (await created.json()) as { id: string };
      for (;;) {
        const left = deadline - now();
        if (left <= 0) return { ok: false, error: { code: 'timeout', message: 'no grid volunteer finished it within timeoutMs' } };
        // Until the watch says it settled, or the deadline.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => done(), left);
          const done = (): void => {
            clearTimeout(timer);
            watched.delete(id);
            resolve();
          };
          watched.set(id, done);
          if (watching) watching.abort();
          else void watch();
        });
        const response = await fetchImpl(`${base}/run/${encodeURIComponent(id)}?waitMs=0`);
        if (response.status === 202) continue;
        if (!response.ok) return await failure(response);
        if (response.headers.get('content-type')?.startsWith('application/octet-stream')) {
          return { ok: true, output: new Uint8Array(await response.arrayBuffer()) };
        }
        const status = (await response.json()) as { error?: { code: string; message: string } };
        return { ok: false, error: runError(status.error?.code ?? 'unavailable', status.error?.message ?? 'the run failed') };
      }
    } catch (error) {
      return { ok: false, error: { code: 'unavailable', message: `the coordinator did not answer: ${String(error)}` } };
    }
  }

  async function run(request: Extract<PageRequest, { type: 'sparecycles:run' }>): Promise<void> {
    const { id, module, input, options } = request;
    if (!settings.runModules.includes(module)) {
      fail(id, { code: 'module_not_allowed', message: `module ${module} is not one this site's owner allowed for run()` });
      return;
    }
    const decision = allowRun(recent, settings.runPerMinute, now());
    recent = decision.recent;
    if (!decision.allowed) {
      fail(id, { code: 'rate_limited', message: `more than ${settings.runPerMinute} run() calls in a minute` });
      return;
    }
    const deadline = now() + options.timeoutMs;
    let result: Local = 'busy';
    let ranOn: 'visitor' | 'grid' = 'visitor';
    if (deps.consent() === 'accepted') result = await runInPool(module, input, options.timeoutMs, options.queueMs);
    if (result === 'busy') {
      if (options.fallback === 'none') {
        fail(id, { code: 'no_volunteer', message: "the visitor's pool could not take it and the page asked for no grid fallback" });
        return;
      }
      ranOn = 'grid';
      result = await runOnGrid(module, input, deadline);
    }
    if (result === 'busy') return;
    if (result.ok) reply({ type: 'sparecycles:ran', id, output: result.output, ranOn }, [result.output.buffer]);
    else fail(id, result.error);
  }

  const onMessage = (event: MessageEvent): void => {
    if (event.source !== window.parent || window.parent === window) return;
    if (target !== '*' && event.origin !== target) return;
    const request = parsePageRequest(event.data);
    if (!request) return;
    if (request.type === 'sparecycles:run') void run(request);
    else {
      pagePaused = request.type === 'sparecycles:pause';
      deps.onSignals({ ...lastSignals, pagePaused });
    }
  };
  addEventListener('message', onMessage);

  if (channel) {
    channel.onmessage = (event: MessageEvent) => {
      const message = event.data as Relay;
      if (typeof message !== 'object' || message === null || typeof message.rid !== 'string') return;
      if (message.type === 'ran') {
        relays.get(message.rid)?.settle(message.result);
      } else if (message.type === 'taken') {
        relays.get(message.rid)?.taken();
      } else if (message.type === 'run' && deps.leading() && message.input instanceof Uint8Array && settings.runModules.includes(message.module)) {
        // Only the leader answers (its runtime may still be starting: runHere waits the queue
        // time for it); the asking tab checked the page's request and its rate.
        channel.postMessage({ type: 'taken', rid: message.rid } satisfies Relay);
        const timeoutMs = Math.min(Number(message.timeoutMs) || 0, 600_000);
        void runHere(message.module, message.input, timeoutMs, Math.min(Number(message.queueMs) || 0, 600_000)).then((result) =>
          channel.postMessage({ type: 'ran', rid: message.rid, result } satisfies Relay),
        );
      }
    };
  }

  return {
    signals(signals) {
      lastSignals = signals;
      deps.onSignals({ ...signals, pagePaused });
    },
    stats(stats) {
      if (!stats) return;
      const counts: PageStats = { running: stats.running, completed: stats.completed, cpuMs: stats.cpuMs };
      const key = JSON.stringify(counts);
      if (key === lastStats) return;
      lastStats = key;
      reply({ type: 'sparecycles:stats', stats: counts });
    },
    dispose() {
      removeEventListener('message', onMessage);
      channel?.close();
    },
  };
}

/**
 * The embed loader: the only sparecycles code that runs in the host page. It adds one small
 * cross-origin frame from the coordinator and only positions and sizes it; the banner, the
 * visitor's choice and all the work live inside that frame, out of the page's reach.
 *
 *   <script src="https://COORDINATOR/embed.js" data-site="SITE_KEY" async></script>
 *
 * The page can follow the visitor's choice with `window.addEventListener('sparecycles:state', e =>
 * e.detail.state)`, or through `window.sparecycles` (state, events `state` and `stats`, `run()`,
 * `pause()`, `resume()`), whose code (`api.js`, client/src/api/) loads from the coordinator on the
 * first call, so this loader stays small.
 */
import { parseFrameMessage } from './messages.ts';

// Captured synchronously: `currentScript` is null once this first run is over.
const script = document.currentScript as HTMLScriptElement | null;
const site = script?.dataset['site'];

if (script && site) {
  const origin = new URL(script.src).origin;
  const frame = document.createElement('iframe');
  frame.src = `${origin}/frame?site=${encodeURIComponent(site)}`;
  frame.title = 'sparecycles: share idle CPU with this site';
  // Only what the frame's own idle policy reads; nothing else is delegated. (Battery Status is
  // `self`-only by default: without this a cross-origin frame is refused it.)
  frame.allow = 'compute-pressure;battery';
  // Through the CSSOM, not a `style` attribute: a host page's CSP may forbid inline styles.
  frame.style.cssText =
    'position:fixed;right:12px;bottom:12px;width:0;height:0;border:0;margin:0;padding:0;z-index:2147483647;color-scheme:normal;background:transparent';

  type Impl = Record<string, (...args: unknown[]) => Promise<unknown>>;
  const api = new EventTarget() as EventTarget & Record<string, unknown>;
  let loading: Promise<Impl> | undefined;
  // The API's code, an ES module from the coordinator (client/src/api/api-entry.ts), on first use.
  const load = (): Promise<Impl> =>
    (loading ??= import(/* @vite-ignore */ `${origin}/api.js`).then((module: { createPageApi: (...args: unknown[]) => Impl }) =>
      module.createPageApi(frame, origin, api),
    ));
  for (const name of ['run', 'runDetailed', 'pause', 'resume']) {
    api[name] = (...args: unknown[]) => load().then((impl) => impl[name]!(...args));
  }
  (window as unknown as { sparecycles: unknown }).sparecycles = api;

  addEventListener('message', (event: MessageEvent) => {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    const message = parseFrameMessage(event.data);
    if (message?.type === 'sparecycles:resize') {
      frame.style.width = `${message.width}px`;
      frame.style.height = `${message.height}px`;
    } else if (message) {
      const init = { detail: { state: (api['state'] = message.state) } };
      dispatchEvent(new CustomEvent('sparecycles:state', init));
      api.dispatchEvent(new CustomEvent('state', init));
    }
  });

  // The frame backs off while the page is busy or in use: only the page can see that, coarsely.
  const last: Record<string, number> = {};
  const busy = (kind: 'longtask' | 'input'): void => {
    const now = Date.now();
    if (now - (last[kind] ?? 0) < 1000) return;
    last[kind] = now;
    frame.contentWindow?.postMessage({ type: 'sparecycles:busy', kind }, origin);
  };
  try {
    new PerformanceObserver(() => busy('longtask')).observe({ type: 'longtask' });
  } catch {
    // No long-task entries in this browser: the frame goes by its other signals.
  }
  for (const type of ['pointerdown', 'keydown', 'wheel', 'touchstart']) {
    addEventListener(type, () => busy('input'), { capture: true, passive: true });
  }

  const attach = (): void => void document.body.appendChild(frame);
  if (document.body) attach();
  else addEventListener('DOMContentLoaded', attach, { once: true });
}

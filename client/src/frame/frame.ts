/**
 * The frame's wiring: the site's config, the remembered choice, the banner or the control, the
 * size and state posted to the loader, leadership among the site's tabs, and (in the leading tab
 * only) the runtime, imported only after the visitor accepts and driven by the idle policy.
 * Until consent nothing runs and nothing beyond this banner is downloaded; after a decline,
 * nothing ever is.
 *
 * Tabs: every frame of the site reads consent and share from the shared storage and hears their
 * changes (`storage` events), so Pause, Resume, a share change and Stop in any tab reach the
 * leader at once; the leader posts the pool's status to the others (tabs.ts).
 */
import type { Runtime, VolunteerStats } from '../runtime/runtime.ts';
import { shareChoices, shareFor, workersFor, type Decision, type Signals, type SiteLimits } from '../runtime/policy.ts';
import { systemTimers } from '../runtime/timers.ts';
import { RUNTIME_DB_NAME } from '../runtime/db-name.ts';
import { createBanner } from './banner.ts';
import {
  addToTotals,
  forgetChoices,
  isChoiceKey,
  readChoice,
  readShare,
  readTotals,
  saveChoice,
  saveShare,
  type Totals,
} from './choice.ts';
import { readFrameConfig, type SiteColors } from './config.ts';
import { nextConsent, runtimeWanted, type ConsentEvent, type ConsentState } from './consent.ts';
import { createControl, type ControlAction } from './control.ts';
import { createGuest } from './guest.ts';
import { pickLanguage, textsFor } from './i18n.ts';
import { requestLeadership, type LockManagerLike } from './leader.ts';
import { createPageApi } from './page-api.ts';
import { parentOrigin, postToParent } from './parent.ts';
import { watchSignals } from './signals.ts';
import { openTabs, type PoolStatus, type TabMessage } from './tabs.ts';
import { mergeTabSignals, VISIBILITY_EVERY_MS } from './tab-signals.ts';
import { parseHostMessage } from '../embed/messages.ts';

const app = document.getElementById('app') as HTMLElement;
const config = readFrameConfig(document, new URLSearchParams(location.search).get('site') ?? '');
const { siteKey, settings } = config;
const texts = textsFor(pickLanguage(settings.language, navigator.languages ?? [navigator.language]));
document.documentElement.lang = texts.lang;
applyColors(settings.colors);

const target = parentOrigin();
const storage = (): Storage => localStorage;
const site: SiteLimits = settings;
const cores = navigator.hardwareConcurrency || undefined;

let consent: ConsentState = readChoice(storage, siteKey);
let share = shareFor(site, { share: readShare(storage, siteKey), paused: false });
let reconsidering = false;
let view: 'banner' | 'control' | undefined;
let error: string | undefined;
let posted: ConsentState | undefined;
/** Totals when this frame loaded: "this visit" is what was added since. */
let totalsAtLoad: Totals = readTotals(storage, siteKey);
let totals: Totals = totalsAtLoad;
let status: PoolStatus | undefined;

// Leadership and the runtime, in the leading frame only.
let releaseLead: (() => void) | undefined;
let leading = false;
let runtime: Runtime | undefined;
let starting: Promise<void> | undefined;
let stopSignals: (() => void) | undefined;
let counted = { completed: 0, cpuMs: 0 };
let poolStats: VolunteerStats | undefined;
/** This tab's name on the channel, and which other tabs of the site are visible (leader only). */
const tabId = Math.random().toString(36).slice(2, 12);
/** What the other tabs said: their visibility, and their pages' busy reports (tab-signals.ts). */
const visibleTabs = new Map<string, { visible: boolean; at: number }>();
const othersBusy: { longtaskAt?: number; inputAt?: number } = {};
let ownSignals: Signals = {};

const facts = () => ({ workers: workersFor(site, cores), leavesOneFree: (cores ?? 0) >= 2, oneAllowance: 'locks' in navigator, share, maxShare: site.maxShare, pauseWhenHidden: site.pauseWhenHidden });
const control = createControl(texts, onControl);
const banner = createBanner({ texts, facts: facts(), message: settings.message, dispatch });
const guest = createGuest({
  site,
  visitor: () => ({ share, paused: consent === 'paused' }),
  now: Date.now,
  timers: systemTimers,
  onDecision: (decision) => publishStatus(decision),
});
const tabs = openTabs(siteKey, onTabMessage);
// The host page's own run(), pause() and resume() (page-api.ts).
const pageApi = createPageApi({
  siteKey,
  settings,
  target,
  consent: () => consent,
  leading: () => leading,
  runtime: () => runtime,
  onSignals: (signals) => guest.signals(signals),
});

function dispatch(event: ConsentEvent): void {
  const before = consent;
  consent = nextConsent(consent, event);
  reconsidering = false;
  if (consent !== before) saveChoice(storage, siteKey, consent);
  render();
  applyConsent();
}

function onControl(action: ControlAction): void {
  if (action.type === 'reconsider') {
    reconsidering = true;
    render();
    banner.focus();
  } else if (action.type === 'share') {
    share = shareFor(site, { share: action.share, paused: false });
    saveShare(storage, siteKey, share);
    guest.reconsider();
    render();
  } else if (action.type === 'forget') {
    void forget();
  } else {
    dispatch(action.type);
  }
}

/** Another tab changed the site's consent, share or totals. */
window.addEventListener('storage', (event: StorageEvent) => {
  if (event.storageArea !== localStorage || !isChoiceKey(event.key, siteKey)) return;
  const before = consent;
  consent = readChoice(storage, siteKey);
  share = shareFor(site, { share: readShare(storage, siteKey), paused: false });
  totals = readTotals(storage, siteKey);
  // Everything was forgotten in another tab: this visit starts again from nothing too.
  if (event.key === null || (consent === 'undecided' && before !== 'undecided')) totalsAtLoad = totals;
  if (consent !== before) reconsidering = false;
  guest.reconsider();
  render();
  applyConsent();
});

function onTabMessage(message: TabMessage): void {
  if (message.type === 'hello') {
    postVisibility();
    if (leading) publishStatus(guest.current());
  } else if (message.type === 'visibility' || message.type === 'bye') {
    if (message.type === 'visibility') visibleTabs.set(message.tab, { visible: message.visible, at: Date.now() });
    else visibleTabs.delete(message.tab);
    if (leading) feedSignals();
  } else if (message.type === 'busy') {
    othersBusy[message.kind === 'longtask' ? 'longtaskAt' : 'inputAt'] = Date.now();
    if (leading) feedSignals();
  } else if (message.type === 'status' && !leading) {
    status = message.status;
    render();
  }
}

function render(): void {
  document.body.dataset['state'] = consent;
  document.body.dataset['leader'] = String(leading);
  const wanted = consent === 'undecided' || reconsidering ? 'banner' : 'control';
  if (wanted !== view) {
    view = wanted;
    app.replaceChildren(wanted === 'banner' ? banner.element : control.element);
  }
  banner.setFacts(facts());
  if (consent !== 'undecided') {
    control.update({
      state: consent,
      status: runtimeWanted(consent) ? status : undefined,
      visit: { tasks: totals.tasks - totalsAtLoad.tasks, cpuMs: totals.cpuMs - totalsAtLoad.cpuMs },
      total: totals,
      share,
      shareChoices: shareChoices(site),
      operator: config.operator,
      error: error ?? status?.error,
    });
  }
  if (posted !== consent) postToParent({ type: 'sparecycles:state', state: consent }, target);
  pageApi.stats(status);
  posted = consent;
}

/** Brings leadership and the runtime in line with the consent state. */
function applyConsent(): void {
  if (runtimeWanted(consent)) {
    releaseLead ??= requestLeadership(navigator.locks as LockManagerLike | undefined, `sparecycles:pool:${siteKey}`, lead);
    if (leading && consent === 'accepted' && !runtime && !starting) starting = start();
    guest.reconsider();
    return;
  }
  // Declined or undecided: stop everything this frame runs and let go of the lead.
  stopRuntime();
  releaseLead?.();
  releaseLead = undefined;
  leading = false;
  status = undefined;
  render();
}

/** The leader's signals, the other tabs' reports merged in (tab-signals.ts). */
function feedSignals(): void {
  // The page's own pause() joins the signals on the way to the policy (page-api.ts).
  pageApi.signals(mergeTabSignals(ownSignals, { visible: visibleTabs, ...othersBusy }, Date.now()));
}

function postVisibility(): void {
  tabs.post({ type: 'visibility', tab: tabId, visible: document.visibilityState === 'visible' });
}

function lead(): void {
  leading = true;
  stopSignals = watchSignals((signals) => {
    ownSignals = signals;
    feedSignals();
  });
  // The other tabs say again whether they are visible, for this new leader.
  tabs.post({ type: 'hello' });
  render();
  applyConsent();
}

async function start(): Promise<void> {
  try {
    // The runtime's chunk (socket, pool, idb) is fetched here, after consent and not before.
    const { startRuntime } = await import('../runtime/runtime.ts');
    const decision = guest.current();
    const started = await startRuntime({
      siteKey,
      workers: decision.workers,
      share: decision.share,
      onRefused: () => {
        error = texts.notAvailable;
        render();
      },
    });
    if (!leading || !runtimeWanted(consent)) {
      started.stop();
      return;
    }
    counted = { completed: 0, cpuMs: 0 };
    started.onStats(onPoolStats);
    runtime = started;
    guest.attach(started);
  } catch (failure) {
    console.warn('sparecycles: the runtime did not start:', failure);
    error = texts.couldNotStart;
    render();
  } finally {
    starting = undefined;
  }
}

/**
 * The pool reports its stats several times per task; the totals, the control and the other tabs
 * follow at most every `STATS_MS` (trailing), since each update costs the frame's main thread a
 * storage write, a message to every tab and a repaint, on the visitor's CPU, next to the workers.
 */
const STATS_MS = 500;
let statsTimer: unknown;

function onPoolStats(next: VolunteerStats): void {
  poolStats = next;
  statsTimer ??= systemTimers.setTimeout(flushPoolStats, STATS_MS);
}

function flushPoolStats(): void {
  if (statsTimer !== undefined) systemTimers.clearTimeout(statsTimer);
  statsTimer = undefined;
  const next = poolStats;
  if (!next) return;
  // Everything was just forgotten in some tab (this one may not have heard yet): add nothing back.
  if (readChoice(storage, siteKey) === 'undecided') return;
  // Only the leader adds to the site's totals, once per accepted result.
  const delta = { tasks: next.completed - counted.completed, cpuMs: next.cpuMs - counted.cpuMs };
  if (delta.tasks > 0 || delta.cpuMs > 0) {
    counted = { completed: next.completed, cpuMs: next.cpuMs };
    totals = addToTotals(storage, siteKey, delta);
  }
  publishStatus(guest.current());
}

/** The leader's status, shown here and posted to the site's other tabs. */
function publishStatus(decision: Decision): void {
  if (!leading) return;
  status = {
    running: poolStats?.running ?? 0,
    resting: poolStats?.resting ?? 0,
    completed: poolStats?.completed ?? 0,
    cpuMs: poolStats?.cpuMs ?? 0,
    pausedBy: decision.pausedBy,
    jobs: poolStats?.jobs ?? [],
    ...(error ? { error } : {}),
  };
  tabs.post({ type: 'status', status });
  render();
}

function stopRuntime(): void {
  // What the pool finished before it stopped still counts, unless everything was just forgotten.
  if (runtime && consent !== 'undecided') poolStats = runtime.stats();
  else poolStats = undefined;
  flushPoolStats();
  guest.attach(undefined);
  stopSignals?.();
  stopSignals = undefined;
  runtime?.stop();
  runtime = undefined;
  poolStats = undefined;
}

/**
 * "Forget me": stops sharing in every tab (the choice disappears from the shared storage, which
 * the other tabs hear), then deletes the database: the volunteer id, cached modules and the
 * outbox. Unsent results go with it; their leases went back to the coordinator when the
 * connection closed, so the tasks run elsewhere and no job loses anything but that work.
 */
async function forget(): Promise<void> {
  forgetChoices(storage, siteKey);
  consent = 'undecided';
  totals = totalsAtLoad = readTotals(storage, siteKey);
  reconsidering = false;
  applyConsent();
  // The leader closes its connection to the database when it stops; deleting waits for that.
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase(RUNTIME_DB_NAME);
    request.onsuccess = request.onerror = () => resolve();
  });
}

function applyColors(colors: SiteColors | null): void {
  if (!colors) return;
  const style = document.documentElement.style;
  style.setProperty('--site-bg', colors.background);
  style.setProperty('--site-fg', colors.text);
  style.setProperty('--site-accent', colors.accent);
  style.setProperty('--site-accent-fg', colors.accentText);
  document.documentElement.dataset['colors'] = 'site';
}

new ResizeObserver(() => {
  const box = app.getBoundingClientRect();
  postToParent({ type: 'sparecycles:resize', width: Math.ceil(box.width), height: Math.ceil(box.height) }, target);
}).observe(app);

if (!siteKey) error = 'Missing site key';
render();
applyConsent();
tabs.post({ type: 'hello' });
postVisibility();
document.addEventListener('visibilitychange', postVisibility);
setInterval(postVisibility, VISIBILITY_EVERY_MS);
addEventListener('pagehide', () => tabs.post({ type: 'bye', tab: tabId }));
// A tab that does not lead passes its page's busy reports to the leader, which backs off for all.
addEventListener('message', (event: MessageEvent) => {
  if (leading || event.source !== window.parent || window.parent === window) return;
  const message = parseHostMessage(event.data);
  if (message) tabs.post({ type: 'busy', kind: message.kind });
});

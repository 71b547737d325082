/**
 * The frame's wiring: the remembered choice, the banner or the control, the size and state posted
 * to the loader, and the runtime, which is imported only after the visitor accepts. Until then
 * nothing runs and nothing beyond this banner is downloaded; after a decline, nothing ever is.
 */
import { createBanner } from './banner.ts';
import { readChoice, saveChoice } from './choice.ts';
import { nextConsent, runtimeWanted, type ConsentEvent, type ConsentState } from './consent.ts';
import { createControl, type ControlAction } from './control.ts';
import { parentOrigin, postToParent } from './parent.ts';
import type { Runtime } from '../runtime/runtime.ts';

const app = document.getElementById('app') as HTMLElement;
const siteKey = new URLSearchParams(location.search).get('site') ?? '';
const target = parentOrigin();
const storage = (): Storage => localStorage;

let consent: ConsentState = readChoice(storage);
let reconsidering = false;
let view: 'banner' | 'control' | undefined;
let runtime: Runtime | undefined;
let starting: Promise<Runtime | undefined> | undefined;
let stats = { completed: 0, running: 0 };
let error: string | undefined;
let posted: ConsentState | undefined;

const control = createControl(onControl);
const banner = createBanner(dispatch);

function dispatch(event: ConsentEvent): void {
  const before = consent;
  consent = nextConsent(consent, event);
  reconsidering = false;
  if (consent !== before) saveChoice(storage, consent);
  render();
  applyToRuntime();
}

function onControl(action: ControlAction): void {
  if (action !== 'reconsider') return dispatch(action);
  reconsidering = true;
  render();
}

function render(): void {
  document.body.dataset['state'] = consent;
  const wanted = consent === 'undecided' || reconsidering ? 'banner' : 'control';
  if (wanted !== view) {
    view = wanted;
    app.replaceChildren(wanted === 'banner' ? banner : control.element);
    // Focus follows the swap only after the visitor acted, never on first load.
    if (wanted === 'banner' && reconsidering) banner.querySelector('button')?.focus();
  }
  if (consent !== 'undecided') control.update({ state: consent, ...stats, error });
  if (posted !== consent) postToParent({ type: 'sparecycles:state', state: consent }, target);
  posted = consent;
}

/** Brings the runtime in line with the consent state, starting it only when accepted. */
function applyToRuntime(): void {
  if (consent === 'accepted' && !starting) starting = start();
  if (!runtime) return;
  if (consent === 'accepted') runtime.resume();
  else if (consent === 'paused') runtime.pause();
  else if (!runtimeWanted(consent)) {
    runtime.stop();
    runtime = undefined;
    starting = undefined;
    stats = { ...stats, running: 0 };
    render();
  }
}

async function start(): Promise<Runtime | undefined> {
  try {
    // The runtime's chunk (socket, pool, idb) is fetched here, after consent and not before.
    const { startRuntime } = await import('../runtime/runtime.ts');
    const started = await startRuntime({
      siteKey,
      onRefused: () => {
        error = 'Not available on this site';
        render();
      },
    });
    started.onStats((next) => {
      stats = { completed: next.completed, running: next.running };
      render();
    });
    runtime = started;
    applyToRuntime();
    return started;
  } catch (failure) {
    console.warn('sparecycles: the runtime did not start:', failure);
    error = 'Could not start';
    starting = undefined;
    render();
    return undefined;
  }
}

new ResizeObserver(() => {
  const box = app.getBoundingClientRect();
  postToParent({ type: 'sparecycles:resize', width: Math.ceil(box.width), height: Math.ceil(box.height) }, target);
}).observe(app);

if (!siteKey) error = 'Missing site key';
render();
applyToRuntime();

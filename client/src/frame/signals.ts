/**
 * The browser's signals for the idle policy, read in the frame: cores, battery (Battery Status,
 * where present), data saver, page visibility (a cross-origin frame shares its page's), compute
 * pressure (PressureObserver, allowed by the loader's `allow="compute-pressure"`), and what the
 * host page reports through the loader: its long tasks and its visitor's input. A signal the
 * browser lacks stays `undefined`, which the policy never reads as a reason to pause.
 */
import type { Pressure, Signals } from '../runtime/policy.ts';
import type { Disposer } from '../runtime/timers.ts';
import { parseHostMessage } from '../embed/messages.ts';

interface BatteryLike extends EventTarget {
  charging: boolean;
}
interface ConnectionLike extends EventTarget {
  saveData?: boolean;
}
interface PressureRecordLike {
  state: Pressure;
}
interface PressureObserverLike {
  observe(source: 'cpu', options?: { sampleInterval?: number }): Promise<void>;
  disconnect(): void;
}
type PressureObserverCtor = new (callback: (records: PressureRecordLike[]) => void) => PressureObserverLike;

/** Reports the current signals now and on every change. */
export function watchSignals(onChange: (signals: Signals) => void, now: () => number = Date.now): Disposer {
  const nav = navigator as Navigator & {
    getBattery?: () => Promise<BatteryLike>;
    connection?: ConnectionLike;
  };
  const signals: Signals = { cores: nav.hardwareConcurrency || undefined };
  const disposers: Disposer[] = [];
  let live = true;
  const report = (): void => {
    if (live) onChange({ ...signals });
  };
  const listen = (target: EventTarget, type: string, listener: () => void): void => {
    target.addEventListener(type, listener);
    disposers.push(() => target.removeEventListener(type, listener));
  };

  const readVisibility = (): void => {
    signals.hidden = document.visibilityState === 'hidden';
    report();
  };
  listen(document, 'visibilitychange', readVisibility);
  signals.hidden = document.visibilityState === 'hidden';

  if (nav.connection && typeof nav.connection.saveData === 'boolean') {
    const connection = nav.connection;
    signals.saveData = connection.saveData;
    listen(connection, 'change', () => {
      signals.saveData = connection.saveData === true;
      report();
    });
  }

  nav
    .getBattery?.()
    .then((battery) => {
      if (!live) return;
      const read = (): void => {
        signals.battery = { charging: battery.charging };
        report();
      };
      listen(battery, 'chargingchange', read);
      read();
    })
    .catch(() => {
      // Not offered here (or refused): no battery signal.
    });

  const Observer = (globalThis as { PressureObserver?: PressureObserverCtor }).PressureObserver;
  if (Observer) {
    try {
      const observer = new Observer((records) => {
        const last = records.at(-1);
        if (!last) return;
        signals.pressure = last.state;
        report();
      });
      observer.observe('cpu', { sampleInterval: 2000 }).catch(() => {
        // Not allowed in this frame (the embedding page withheld the permission): no pressure signal.
      });
      disposers.push(() => observer.disconnect());
    } catch {
      // An older shape of the API: no pressure signal.
    }
  }

  // Only the host page sees its own long tasks and input; the loader forwards them, coarse.
  const onMessage = (event: MessageEvent): void => {
    if (event.source !== window.parent || window.parent === window) return;
    const message = parseHostMessage(event.data);
    if (!message) return;
    if (message.kind === 'longtask') signals.pageBusyAt = now();
    else signals.pageInputAt = now();
    report();
  };
  addEventListener('message', onMessage);
  disposers.push(() => removeEventListener('message', onMessage));

  report();
  return () => {
    live = false;
    for (const dispose of disposers.splice(0)) dispose();
  };
}

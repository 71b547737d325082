/**
 * Simulated browser signals for the frame: a page that turns hidden, and a battery that starts or
 * stops discharging. Headless Chromium has neither a window to hide nor a battery, so an init
 * script gives the frame's document a `visibilityState` and a `navigator.getBattery()` that the
 * test drives, firing the same events the browser would. Nothing else of the frame is touched.
 */
import type { BrowserContext, Frame, Page } from '@playwright/test';
import { frameOf } from './outbox.ts';

/** Installs the simulated signals, and a long-task log, in every document of the context. */
export async function simulateSignals(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as Record<string, unknown>;
    // Every document keeps its own long tasks (> 50 ms), for the "no long tasks" checks.
    const longTasks: { at: number; ms: number }[] = [];
    w['__longTasks'] = longTasks;
    try {
      new PerformanceObserver((list) =>
        list.getEntries().forEach((entry) => longTasks.push({ at: Math.round(entry.startTime), ms: Math.round(entry.duration) })),
      ).observe({ type: 'longtask', buffered: true });
    } catch {
      // No long-task entries here.
    }
    if (location.pathname !== '/frame') return;
    let hidden = false;
    Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
    w['__setHidden'] = (value: boolean) => {
      hidden = value;
      document.dispatchEvent(new Event('visibilitychange'));
    };
    const battery = Object.assign(new EventTarget(), { charging: true, level: 1 });
    Object.defineProperty(Navigator.prototype, 'getBattery', { configurable: true, value: () => Promise.resolve(battery) });
    w['__setCharging'] = (value: boolean) => {
      battery.charging = value;
      battery.dispatchEvent(new Event('chargingchange'));
    };
  });
}

export async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await (await frameOf(page)).evaluate((value) => (window as unknown as { __setHidden(v: boolean): void }).__setHidden(value), hidden);
}

export async function setCharging(page: Page, charging: boolean): Promise<void> {
  await (await frameOf(page)).evaluate((value) => (window as unknown as { __setCharging(v: boolean): void }).__setCharging(value), charging);
}

/** Long tasks (start and duration in ms) seen by a document since it loaded. */
export async function longTasks(target: Page | Frame): Promise<{ at: number; ms: number }[]> {
  return target.evaluate(() => [...((window as unknown as { __longTasks?: { at: number; ms: number }[] }).__longTasks ?? [])]);
}

/**
 * The leader's view of the site's tabs, as pure code: its own page's signals merged with what the
 * other tabs said. "Hidden" means hidden in every tab (a visitor reading the site in another tab
 * is still on the site); a tab's report ages out after `VISIBILITY_TTL_MS` (a tab that died
 * without a goodbye must not keep the pool running forever); a long task or input in any tab's
 * page counts as the page being busy.
 */
import type { Signals } from '../runtime/policy.ts';

/** Tabs say their visibility this often, and a report older than the TTL no longer counts. */
export const VISIBILITY_EVERY_MS = 5_000;
export const VISIBILITY_TTL_MS = 12_000;

export interface OtherTabs {
  /** Each other tab's last visibility report and when it came (epoch ms). */
  visible: ReadonlyMap<string, { visible: boolean; at: number }>;
  /** When another tab's page last reported a long task, or input (epoch ms). */
  longtaskAt?: number | undefined;
  inputAt?: number | undefined;
}

const latest = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.max(a, b);

export function mergeTabSignals(own: Signals, others: OtherTabs, now: number): Signals {
  const otherVisible = [...others.visible.values()].some((tab) => tab.visible && now - tab.at < VISIBILITY_TTL_MS);
  return {
    ...own,
    hidden: own.hidden === true && !otherVisible,
    pageBusyAt: latest(own.pageBusyAt, others.longtaskAt),
    pageInputAt: latest(own.pageInputAt, others.inputAt),
  };
}

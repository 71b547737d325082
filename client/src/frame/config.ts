/**
 * What the coordinator tells the frame with the page: the site's key and name, who runs the grid,
 * and the site owner's settings, as a JSON script element the frame reads once (a JSON script is
 * not executed, so the frame's CSP stays `script-src 'self'`).
 */

import type { FRAME_CONFIG_ELEMENT_ID, FrameConfig } from '../../../server/src/protocol/http.ts';

export type { FrameConfig } from '../../../server/src/protocol/http.ts';
import { DEFAULT_SITE_SETTINGS } from '../../../server/src/protocol/site-defaults.ts';

/** The site owner's settings, defaults filled in by the coordinator. */
export type FrameSettings = FrameConfig['settings'];

/** Colours a site may give the banner and control (the coordinator checked their contrast). */
export type SiteColors = NonNullable<FrameSettings['colors']>;

// Checked against the contract's constant without importing the contract (and TypeBox) at run time.
const ELEMENT_ID: typeof FRAME_CONFIG_ELEMENT_ID = 'sparecycles-config';

/** The defaults a site gets when its owner set nothing (also the fallback for a page without config). */
export const DEFAULT_FRAME_SETTINGS: FrameSettings = DEFAULT_SITE_SETTINGS;

const COLOR = /^#[0-9a-f]{6}$/i;
const num = (value: unknown, low: number, high: number): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) && value >= low && value <= high ? value : undefined;

/** Reads the config element; anything missing or malformed falls back to the site defaults. */
export function parseFrameConfig(text: string | null | undefined, siteKey: string, host: string): FrameConfig {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text ?? '{}');
    if (parsed && typeof parsed === 'object') raw = parsed as Record<string, unknown>;
  } catch {
    // A page served without the element (a development build): defaults.
  }
  const given = (raw['settings'] && typeof raw['settings'] === 'object' ? raw['settings'] : {}) as Record<string, unknown>;
  const d = DEFAULT_FRAME_SETTINGS;
  const colors = given['colors'] as Record<string, unknown> | null | undefined;
  const maxShare = num(given['maxShare'], 0.1, 1) ?? d.maxShare;
  return {
    siteKey: typeof raw['siteKey'] === 'string' ? raw['siteKey'] : siteKey,
    siteName: typeof raw['siteName'] === 'string' ? raw['siteName'] : '',
    operator: typeof raw['operator'] === 'string' && raw['operator'] ? raw['operator'] : host,
    settings: {
      maxWorkers: given['maxWorkers'] === null ? null : (num(given['maxWorkers'], 1, 64) ?? d.maxWorkers),
      maxShare,
      defaultShare: Math.min(maxShare, num(given['defaultShare'], 0.1, 1) ?? d.defaultShare),
      pauseWhenHidden: typeof given['pauseWhenHidden'] === 'boolean' ? given['pauseWhenHidden'] : d.pauseWhenHidden,
      runModules: Array.isArray(given['runModules']) ? given['runModules'].filter((h): h is string => typeof h === 'string') : [],
      runPerMinute: num(given['runPerMinute'], 1, 600) ?? d.runPerMinute,
      language: given['language'] === 'en' || given['language'] === 'fr' ? given['language'] : 'auto',
      message: typeof given['message'] === 'string' ? given['message'].slice(0, 200) : null,
      colors:
        colors && ['background', 'text', 'accent', 'accentText'].every((key) => COLOR.test(String(colors[key])))
          ? (colors as unknown as SiteColors)
          : null,
    },
  };
}

/** The config the coordinator embedded in this page. */
export function readFrameConfig(doc: Document, siteKey: string): FrameConfig {
  return parseFrameConfig(doc.getElementById(ELEMENT_ID)?.textContent, siteKey, location.host);
}

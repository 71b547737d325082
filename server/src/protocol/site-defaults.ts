/**
 * Every site setting's default, declared once for the coordinator (which fills them in) and the
 * frame (which falls back to them). Types only from the schemas, so the frame's bundle stays free
 * of TypeBox.
 */
import type { SiteSettings } from './http.ts';

/** Every setting's default: a site that says nothing gets these. */
export const DEFAULT_SITE_SETTINGS: Readonly<SiteSettings> = Object.freeze({
  maxWorkers: null,
  maxShare: 1,
  defaultShare: 0.5,
  pauseWhenHidden: true,
  runModules: [],
  runPerMinute: 30,
  language: 'auto',
  message: null,
  colors: null,
});

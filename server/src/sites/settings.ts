/**
 * A site's settings: the defaults, how a request's subset merges into them, and the rules that
 * span fields (which a schema cannot say). Pure: the store applies these in the transaction that
 * reads the current settings.
 */
import type { SiteColors, SiteSettings, SiteSettingsInput } from '../protocol/http.ts';
import { DEFAULT_SITE_SETTINGS } from '../protocol/site-defaults.ts';
import { contrastRatio, TEXT_CONTRAST, UI_CONTRAST } from './contrast.ts';

export { DEFAULT_SITE_SETTINGS } from '../protocol/site-defaults.ts';

/**
 * `patch` over `base` (default: the defaults), field by field: a given field replaces that field,
 * whole (`colors` and `runModules` included). Colours are kept lowercase and run modules once each.
 * Fields unknown to this version (from a stored record) are dropped.
 */
export function mergeSiteSettings(patch: SiteSettingsInput = {}, base: Partial<SiteSettings> = {}): SiteSettings {
  const merged = { ...DEFAULT_SITE_SETTINGS } as Record<string, unknown>;
  for (const source of [base, patch] as Record<string, unknown>[]) {
    for (const key of Object.keys(DEFAULT_SITE_SETTINGS)) {
      if (source[key] !== undefined) merged[key] = source[key];
    }
  }
  const settings = merged as SiteSettings;
  return {
    ...settings,
    runModules: [...new Set(settings.runModules)],
    colors: settings.colors && lowercaseColors(settings.colors),
  };
}

function lowercaseColors(colors: SiteColors): SiteColors {
  return {
    background: colors.background.toLowerCase(),
    text: colors.text.toLowerCase(),
    accent: colors.accent.toLowerCase(),
    accentText: colors.accentText.toLowerCase(),
  };
}

/**
 * The first rule that schema-valid settings break, as a message naming the fields, or undefined.
 * Rules: `defaultShare` at most `maxShare`; colours readable (WCAG AA: text 4.5:1 on its
 * background, the accent 3:1 against the background).
 */
export function siteSettingsProblem(settings: SiteSettings): string | undefined {
  if (settings.defaultShare > settings.maxShare) {
    return `settings/defaultShare (${settings.defaultShare}) must not exceed settings/maxShare (${settings.maxShare})`;
  }
  const colors = settings.colors;
  if (colors) {
    const pairs = [
      { fg: 'text', bg: 'background', relation: 'on', needed: TEXT_CONTRAST },
      { fg: 'accentText', bg: 'accent', relation: 'on', needed: TEXT_CONTRAST },
      { fg: 'accent', bg: 'background', relation: 'against', needed: UI_CONTRAST },
    ] as const;
    for (const { fg, bg, relation, needed } of pairs) {
      const ratio = contrastRatio(colors[fg], colors[bg]);
      if (ratio < needed) {
        return `settings/colors: ${fg} ${colors[fg]} ${relation} ${bg} ${colors[bg]} has contrast ${floor2(ratio)}:1, below the ${needed}:1 it needs`;
      }
    }
  }
  return undefined;
}

/** Rounded down, so a ratio just under the bar never prints as reaching it. */
const floor2 = (n: number): string => (Math.floor(n * 100) / 100).toFixed(2);

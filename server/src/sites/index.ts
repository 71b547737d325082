/** Sites' settings: defaults, merging and cross-field rules (pure). Other folders import from here only. */
export { DEFAULT_SITE_SETTINGS, mergeSiteSettings, siteSettingsProblem } from './settings.ts';
export { contrastRatio, relativeLuminance, TEXT_CONTRAST, UI_CONTRAST } from './contrast.ts';
export { createRateLimiter, isFull, peekToken, takeToken, type Bucket, type RateDecision, type RateLimiter } from './rate-limit.ts';

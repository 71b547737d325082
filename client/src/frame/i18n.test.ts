import { describe, expect, it } from 'vitest';
import { formatDuration, pickLanguage, textsFor, type PromiseFacts } from './i18n.ts';

describe('pickLanguage', () => {
  it.each<[Parameters<typeof pickLanguage>[0], string[], string]>([
    ['auto', ['fr-FR', 'en'], 'fr'],
    ['auto', ['de-DE', 'en-GB'], 'en'],
    ['auto', ['de-DE'], 'en'],
    ['auto', [], 'en'],
    ['en', ['fr-FR'], 'en'],
    ['fr', ['en-US'], 'fr'],
  ])('site %s, browser %j → %s', (setting, languages, expected) => {
    expect(pickLanguage(setting, languages)).toBe(expected);
  });
});

describe('the banner states what the policy does', () => {
  const facts = (overrides: Partial<PromiseFacts> = {}): PromiseFacts => ({ workers: 1, leavesOneFree: true, oneAllowance: true, share: 0.5, maxShare: 1, pauseWhenHidden: true, ...overrides });

  it.each(['en', 'fr'] as const)('%s: cores, share and the pauses in force', (language) => {
    const texts = textsFor(language);
    const text = texts.bannerText(facts({ workers: 3, share: 0.25 }));
    expect(text).toMatch(/3 (cores|cœurs)/);
    expect(text).toMatch(/25\s?%/);
    expect(text).toMatch(language === 'en' ? /no tab of this site is visible/ : /aucun onglet/);
    const always = texts.bannerText(facts({ pauseWhenHidden: false }));
    expect(always).not.toMatch(language === 'en' ? /no tab of this site is visible/ : /aucun onglet/);
    expect(always).toMatch(language === 'en' ? /1 core\b/ : /1 cœur\b/);
  });

  it.each(['en', 'fr'] as const)('%s: promises a free core only where the browser says there are two or more', (language) => {
    const free = language === 'en' ? /leaving one free/ : /cœur libre/;
    expect(textsFor(language).bannerText(facts())).toMatch(free);
    expect(textsFor(language).bannerText(facts({ leavesOneFree: false }))).not.toMatch(free);
  });

  it('speaks of one allowance for all tabs only where the browser has Web Locks', () => {
    expect(textsFor('en').bannerText(facts())).toContain('one allowance for all your tabs');
    expect(textsFor('en').bannerText(facts({ oneAllowance: false }))).not.toContain('all your tabs');
    expect(textsFor('fr').bannerText(facts({ oneAllowance: false }))).not.toContain('onglets');
  });

  it('says the visitor can change the share only when the site allows more', () => {
    expect(textsFor('en').bannerText(facts({ maxShare: 1 }))).toContain('you can change that');
    expect(textsFor('en').bannerText(facts({ share: 0.5, maxShare: 0.5 }))).not.toContain('you can change that');
  });

  it('has every text in both languages', () => {
    expect(Object.keys(textsFor('fr')).sort()).toEqual(Object.keys(textsFor('en')).sort());
    expect(Object.keys(textsFor('fr').reasons).sort()).toEqual(Object.keys(textsFor('en').reasons).sort());
  });
});

describe('formatDuration', () => {
  it.each<[number, 'en' | 'fr', string]>([
    [0, 'en', '0.0 s'],
    [1234, 'en', '1.2 s'],
    [1234, 'fr', '1,2\u00a0s'],
    [42_000, 'en', '42 s'],
    [184_000, 'en', '3 min 4 s'],
    [7_500_000, 'en', '2 h 5 min'],
  ])('%s ms in %s → %s', (ms, language, expected) => {
    expect(formatDuration(ms, language)).toBe(expected);
  });
});

import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { PlainText, SiteSettings, SiteSettingsInput } from '../protocol/http.ts';
import { DEFAULT_SITE_SETTINGS, mergeSiteSettings, siteSettingsProblem } from './settings.ts';

const readable = { background: '#FFFFFF', text: '#1d2330', accent: '#1f6feb', accentText: '#ffffff' };

describe('mergeSiteSettings', () => {
  it('fills every default, and the defaults are valid settings', () => {
    expect(mergeSiteSettings()).toEqual(DEFAULT_SITE_SETTINGS);
    expect(Value.Check(SiteSettings, mergeSiteSettings())).toBe(true);
    expect(siteSettingsProblem(mergeSiteSettings())).toBeUndefined();
  });

  it('replaces given fields whole, keeps the others, and normalises', () => {
    const base = mergeSiteSettings({ maxShare: 0.8, colors: readable, runModules: ['a'.repeat(64)] });
    expect(base.colors).toEqual({ ...readable, background: '#ffffff' });
    const next = mergeSiteSettings({ defaultShare: 0.2, runModules: ['b'.repeat(64), 'b'.repeat(64)], colors: null }, base);
    expect(next).toEqual({ ...DEFAULT_SITE_SETTINGS, maxShare: 0.8, defaultShare: 0.2, runModules: ['b'.repeat(64)], colors: null });
    // A stored record from a newer version: what this version does not know is dropped.
    expect(mergeSiteSettings({}, { ...next, future: 1 } as never)).toEqual(next);
  });
});

describe('siteSettingsProblem', () => {
  it.each([
    [{ defaultShare: 0.6, maxShare: 0.5 }, /defaultShare \(0.6\) must not exceed settings\/maxShare \(0.5\)/],
    // #777777 on white is 4.478:1, just under AA (printed rounded down).
    [{ colors: { ...readable, text: '#777777' } }, /text #777777 on background #ffffff has contrast 4.47:1, below the 4.5:1/],
    [{ colors: { ...readable, accent: '#aaaaaa', accentText: '#000000' } }, /accent #aaaaaa against background #ffffff .*below the 3:1/],
    [{ colors: { ...readable, accentText: '#6a6a6a' } }, /accentText #6a6a6a on accent #1f6feb/],
    [{ colors: { background: '#000000', text: '#ffffff', accent: '#111111', accentText: '#ffffff' } }, /accent #111111 against background #000000/],
  ])('refuses %j', (patch, message) => {
    expect(siteSettingsProblem(mergeSiteSettings(patch))).toMatch(message);
  });

  it.each([
    [{ defaultShare: 0.5, maxShare: 0.5 }],
    [{ colors: readable }],
    [{ colors: { background: '#000000', text: '#ffffff', accent: '#ffd33d', accentText: '#000000' } }],
    // #767676 on white is 4.54:1, just over AA.
    [{ colors: { ...readable, text: '#767676' } }],
  ])('accepts %j', (patch) => {
    expect(siteSettingsProblem(mergeSiteSettings(patch))).toBeUndefined();
  });
});

describe('the settings schema', () => {
  it.each([
    ['a line with accents é, emoji 😀 and CJK 漢字', true],
    ['', true],
    ['x'.repeat(200), true],
    ['x'.repeat(201), false],
    ['two\nlines', false],
    ['tab\there', false],
    ['nul\u0000', false],
    ['delete\u007f', false],
    ['c1 \u0085 next line', false],
    ['lone high \ud83d here', false],
    ['lone low \ude00 here', false],
    ['reversed pair \ude00\ud83d', false],
  ])('plain text %j → %s', (text, ok) => {
    expect(Value.Check(PlainText(200), text)).toBe(ok);
  });

  it.each([
    [{ maxWorkers: 0 }, false],
    [{ maxWorkers: 64 }, true],
    [{ maxWorkers: 65 }, false],
    [{ maxWorkers: 2.5 }, false],
    [{ maxWorkers: null }, true],
    [{ maxShare: 0.05 }, false],
    [{ defaultShare: 1.1 }, false],
    [{ runModules: ['A'.repeat(64)] }, false],
    [{ runModules: Array.from({ length: 101 }, () => 'a'.repeat(64)) }, false],
    [{ runPerMinute: 0 }, false],
    [{ runPerMinute: 600 }, true],
    [{ language: 'de' }, false],
    [{ colors: { ...readable, text: 'black' } }, false],
    [{ colors: { ...readable, extra: '#000000' } }, false],
    [{ colors: { background: '#ffffff' } }, false],
    [{ theme: 'dark' }, false],
  ])('settings %j → %s', (settings, ok) => {
    expect(Value.Check(SiteSettingsInput, settings)).toBe(ok);
  });
});

import { describe, expect, it } from 'vitest';
import { DEFAULT_FRAME_SETTINGS, parseFrameConfig } from './config.ts';

const colors = { background: '#ffffff', text: '#111111', accent: '#0044aa', accentText: '#ffffff' };

describe('parseFrameConfig', () => {
  it('reads what the coordinator embedded', () => {
    const settings = { ...DEFAULT_FRAME_SETTINGS, maxWorkers: 2, maxShare: 0.5, defaultShare: 0.25, language: 'fr', message: 'Merci !', colors };
    const config = parseFrameConfig(JSON.stringify({ siteKey: 'k', siteName: 'Blog', operator: 'Example Grid', settings }), 'q', 'h:1');
    expect(config).toEqual({ siteKey: 'k', siteName: 'Blog', operator: 'Example Grid', settings });
  });

  it('falls back to the strictest defaults on a missing or garbled element', () => {
    expect(parseFrameConfig(null, 'k', 'h:1')).toEqual({ siteKey: 'k', siteName: '', operator: 'h:1', settings: DEFAULT_FRAME_SETTINGS });
    expect(parseFrameConfig('{not json', 'k', 'h:1').settings).toEqual(DEFAULT_FRAME_SETTINGS);
  });

  it('never lets a value out of range through: shares, workers, colours, language', () => {
    const settings = { maxWorkers: 1000, maxShare: 5, defaultShare: 0.9, language: 'de', colors: { ...colors, text: 'red' }, runPerMinute: -1 };
    const parsed = parseFrameConfig(JSON.stringify({ settings }), 'k', 'h').settings;
    expect(parsed.maxWorkers).toBeNull();
    expect(parsed.maxShare).toBe(1);
    expect(parsed.defaultShare).toBe(0.9);
    expect(parsed.language).toBe('auto');
    expect(parsed.colors).toBeNull();
    expect(parsed.runPerMinute).toBe(30);
    // The default share never passes the cap.
    expect(parseFrameConfig(JSON.stringify({ settings: { maxShare: 0.3, defaultShare: 0.9 } }), 'k', 'h').settings.defaultShare).toBe(0.3);
  });
});

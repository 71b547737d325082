import { describe, expect, it } from 'vitest';
import type { FrameConfig } from '../protocol/http.ts';
import { DEFAULT_SITE_SETTINGS } from '../sites/index.ts';
import { injectFrameConfig, scriptSafeJson } from './frame-config.ts';

const config = (message: string | null): FrameConfig => ({
  siteKey: 'site_abc',
  siteName: 'Blog',
  operator: 'grid.example',
  settings: { ...DEFAULT_SITE_SETTINGS, message },
});

describe('scriptSafeJson', () => {
  it.each([
    ['</script><script>alert(1)</script>', '\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e'],
    ['<!-- a & b -->', '\\u003c!-- a \\u0026 b --\\u003e'],
    ['line\u2028para\u2029', 'line\\u2028para\\u2029'],
    ['plain "quoted" \\ text', 'plain \\"quoted\\" \\\\ text'],
  ])('escapes %j and reads back unchanged', (text, escaped) => {
    const json = scriptSafeJson({ text });
    expect(json).toBe(`{"text":"${escaped}"}`);
    expect(json).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual({ text });
  });
});

describe('injectFrameConfig', () => {
  it('puts one config element just before </head>', () => {
    const html = '<!doctype html><html><head><title>f</title></HEAD><body><script src="/a.js"></script></body></html>';
    const out = injectFrameConfig(html, config('hi </head> there'));
    const element = /<script type="application\/json" id="sparecycles-config">([^<]*)<\/script>\n<\/HEAD>/.exec(out);
    expect(element).not.toBeNull();
    expect(JSON.parse(element![1]!)).toEqual(config('hi </head> there'));
    expect(out.match(/sparecycles-config/g)).toHaveLength(1);
    expect(out.replace(element![0], '</HEAD>')).toBe(html);
  });

  it('refuses a page without a head', () => {
    expect(() => injectFrameConfig('<title>f</title>', config(null))).toThrow(/no <\/head>/);
  });
});

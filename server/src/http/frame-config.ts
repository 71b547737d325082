/**
 * The frame's per-site config, carried in the page itself: one
 * `<script type="application/json" id="sparecycles-config">` element before `</head>`. A JSON
 * script is data, never executed, so the frame's `script-src 'self'` stays as it is. Pure.
 */
import { FRAME_CONFIG_ELEMENT_ID, type FrameConfig } from '../protocol/http.ts';

/**
 * JSON that cannot end or confuse the element it sits in: `<`, `>` and `&` (so no `</script>` or
 * `<!--`) and U+2028/U+2029 (line terminators to older JavaScript parsers) as `\uXXXX` escapes.
 * `JSON.parse` reads it back unchanged.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The config element. */
export function frameConfigElement(config: FrameConfig): string {
  return `<script type="application/json" id="${FRAME_CONFIG_ELEMENT_ID}">${scriptSafeJson(config)}</script>`;
}

/** The built `frame.html` with the config element just before its first `</head>`. */
export function injectFrameConfig(html: string, config: FrameConfig): string {
  const at = html.search(/<\/head\s*>/i);
  // The client build always has a head; a page without one is not the frame we built.
  if (at < 0) throw new Error('frame.html has no </head>: rebuild the client (npm run build)');
  return `${html.slice(0, at)}${frameConfigElement(config)}\n${html.slice(at)}`;
}

/**
 * Content-Security-Policy of the frame, per site: only the site's registered origins may embed it
 * (`frame-ancestors`), and inside it only the coordinator's own origin serves scripts, workers,
 * modules and sockets. Pure: the route supplies the origins.
 */

export interface FrameCspInput {
  /** The site's registered origins; empty means nobody may embed the page. */
  ancestors: readonly string[];
  /**
   * The coordinator's configured public origin. Never an origin taken from the request (its Host
   * header is whatever the client sent).
   */
  publicUrl: string;
}

/** `http://h` → `ws://h`, `https://h` → `wss://h`. */
export const socketOrigin = (origin: string): string => origin.replace(/^http/, 'ws');

/** The frame's CSP header value. */
export function frameCsp({ ancestors, publicUrl }: FrameCspInput): string {
  const connect = ["'self'", publicUrl, socketOrigin(publicUrl)];
  return [
    `frame-ancestors ${ancestors.length > 0 ? ancestors.join(' ') : "'none'"}`,
    "default-src 'self'",
    // Compiling task modules in the frame's workers needs 'wasm-unsafe-eval' (not 'unsafe-eval').
    "script-src 'self' 'wasm-unsafe-eval'",
    `connect-src ${connect.join(' ')}`,
    "worker-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** CSP for pages that must never render in a frame (the unknown-site page). */
export const NO_FRAME_CSP = "frame-ancestors 'none'; default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'";

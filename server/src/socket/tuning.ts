/**
 * Socket.IO settings for many idle volunteer connections (docs/benchmarks.md, idle-connections).
 *
 * - WebSocket only: every client (the frame's runtime, the Node agent) connects with
 *   `transports: ['websocket']`; long-polling would keep a pending HTTP request per volunteer and
 *   an upgrade timer, and needs CORS.
 * - No per-message deflate: a zlib context per connection costs tens of KiB and CPU; payloads are
 *   small or binary. (engine.io 6 already defaults it off; stated so a default change cannot
 *   bring it back.) No HTTP compression either (polling only, and polling is off).
 * - ws's native masking add-on (`bufferutil`) is installed and found by ws at load time; ws 8.21
 *   validates UTF-8 with Node's own `buffer.isUtf8`, so the `utf-8-validate` add-on is not needed (and not installed).
 */
import type { ServerOptions } from 'socket.io';

export const IDLE_CONNECTION_OPTIONS = {
  transports: ['websocket'],
  perMessageDeflate: false,
  httpCompression: false,
} as const satisfies Partial<ServerOptions>;

/** The part of engine.io's connection that keeps the handshake request. */
export interface HandshakeHolder {
  request: unknown;
}

/**
 * Drops engine.io's reference to the connection's first HTTP request (the upgrade request, its
 * headers and parser state, a few KiB per volunteer), as Socket.IO's memory-usage guide suggests.
 * Called once the namespace admitted the volunteer: nothing after that reads it (the handshake
 * keeps its own copy of the headers, auth and address; engine.io caches the remote address).
 */
export function releaseHandshakeRequest(conn: HandshakeHolder): void {
  conn.request = null;
}

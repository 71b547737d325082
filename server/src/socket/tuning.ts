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
 * - The frames of one flush leave in one write (`coalesceFlushWrites`).
 */
import type { Socket as NetSocket } from 'node:net';
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

/** The part of engine.io's server that announces each new connection and each flush of its buffered packets. */
export interface FlushAnnouncer {
  on(event: 'connection', listener: (conn: HandshakeHolder) => void): unknown;
  on(event: 'flush', listener: (conn: object) => void): unknown;
}

/**
 * Sends each flush of a connection's packets (after its handshake) to the kernel in one write.
 * ws writes every WebSocket frame with its own `writev`, and Socket.IO sends an event's binary
 * parts as frames of their own: a grant of 8 leases with their inputs was 8 writes in one flush,
 * each a whole loopback send and wake-up of the volunteer. The TCP socket is corked while
 * engine.io hands a flush's frames to ws and uncorked on the next tick, so the frames leave
 * together (same bytes, same order). The socket is the upgrade request's (Node's public
 * `request.socket`), taken before the request is dropped: with WebSocket only
 * (`IDLE_CONNECTION_OPTIONS`) it is the very socket ws writes to.
 */
export function coalesceFlushWrites(engine: FlushAnnouncer): void {
  const sockets = new WeakMap<object, NetSocket>();
  engine.on('connection', (conn) => {
    const socket = (conn.request as { socket?: NetSocket } | null)?.socket;
    if (socket) sockets.set(conn, socket);
  });
  engine.on('flush', (conn) => {
    const socket = sockets.get(conn);
    if (!socket || socket.destroyed) return;
    socket.cork();
    process.nextTick(uncork, socket);
  });
}

const uncork = (socket: NetSocket): void => socket.uncork();

/**
 * The `/volunteer` Socket.IO namespace: admits connections (Origin check, connections per address,
 * handshake `auth`, site exists), checks every event's size (packet-guard.ts) and rate
 * (event-limiter.ts), validates its payload with the protocol's schemas, calls the scheduler as the
 * connection's volunteer and acknowledges; tells a session to drop revoked leases.
 *
 * Every event with an acknowledgement is answered: a refused one with `{ error: { code, message } }`
 * (`rate_limited` adds `retryAfterMs`), and the connection stays up, unless it keeps flooding
 * past `socketFloodDisconnect` refusals. Refusals are logged as summaries (refusal-log.ts). How
 * each event is taken (tokens, owed answers, schema, acknowledgement) is volunteer-events.ts.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import { CodedError, errorBody } from '../protocol/errors.ts';
import {
  FailRequest,
  LeaseRequest,
  MAX_RESULTS_PER_EVENT,
  ResultRequest,
  ResultsRequest,
  VOLUNTEER_NAMESPACE,
  VolunteerAuth,
  type Ok,
  type VolunteerClientEvents,
  type VolunteerServerEvents,
} from '../protocol/events.ts';
import type { Limits } from '../config.ts';
import type { Scheduler, VolunteerRef } from '../scheduling/index.ts';
import type { ReleaseCause, Store } from '../store/index.ts';
import { compileChecker } from '../http/index.ts';
import { addressKey } from './address.ts';
import { createConnectionCap } from './connection-cap.ts';
import { createEventLimiter } from './event-limiter.ts';
import { createPacketGuard, type EngineConnection } from './packet-guard.ts';
import { maxMessageBytes } from './packet-limits.ts';
import { createRefusalLog } from './refusal-log.ts';
import { coalesceFlushWrites, IDLE_CONNECTION_OPTIONS, releaseHandshakeRequest } from './tuning.ts';
import { answerUnknownEvents, grant, handle, replyError, type EventContext, type SocketLogger, type VolunteerConnection, type VolunteerIoSocket } from './volunteer-events.ts';

export type { SocketLogger, VolunteerConnection };

/** The part of the scheduler the namespace drives. */
export type VolunteerScheduler = Pick<Scheduler, 'connect' | 'lease' | 'result' | 'fail' | 'disconnect'>;

export interface VolunteerSocketDeps {
  server: HttpServer;
  scheduler: VolunteerScheduler;
  store: Pick<Store, 'getSite'>;
  /** The coordinator's public origin (no trailing slash): browsers may connect only from it. */
  publicUrl: string;
  limits: SocketLimits;
  logger?: SocketLogger;
  /** Clock of the rate limits (default `Date.now`). */
  now?: () => number;
  /** Interval of the refusal summaries in the log (default 10 s). */
  refusalLogIntervalMs?: number;
  /** Ping interval and answer timeout (default 10 s and 20 s); tests shorten them. */
  heartbeat?: { intervalMs: number; timeoutMs: number };
  /** In a cluster: the other nodes' public origins, also allowed (see `cluster/membership.ts`). */
  peerOrigins?: () => ReadonlySet<string>;
  /** In a cluster: the session id of a connection (default: the socket id). */
  sessionIdOf?: (socketId: string) => string;
  /** In a cluster: the Socket.IO adapter that carries broadcasts to the other nodes. */
  adapter?: ServerOptions['adapter'];
}

export interface VolunteerSocket {
  io: Server;
  /** Tells the session's connection to drop these leases (no-op when it is gone). */
  revoke(sessionId: string, leaseIds: string[]): void;
  /** Tells these sessions' connections that work appeared (no-op for those gone). */
  wake(sessionIds: string[]): void;
  /** Bytes of results received and not yet answered (bounded by `socketInflightBytes`). */
  heldResultBytes(): number;
  /** Disconnects every volunteer and detaches from the HTTP server (which it leaves open). */
  close(): Promise<void>;
}

/** The limits the namespace enforces (config.ts documents each). */
export type SocketLimits = Pick<
  Limits,
  | 'maxOutputBytes'
  | 'socketEventsPerSecond'
  | 'socketEventBurst'
  | 'addressEventsPerSecond'
  | 'addressEventBurst'
  | 'socketFloodDisconnect'
  | 'connectionsPerAddress'
  | 'socketInflightBytes'
  | 'ungrantedResultBytesPerSecond'
>;

const silent: SocketLogger = { info() {}, warn() {}, error() {} };

/**
 * A browser connection may come only from the coordinator's own public origin (its frame); a Node
 * agent sends no Origin. The Host header is not trusted: with DNS rebinding an attacker's page can
 * make Origin and Host agree on a name of its own.
 */
export function originAllowed(origin: string | undefined, publicUrl: string, peerOrigins?: ReadonlySet<string>): boolean {
  if (origin === undefined) return true;
  const lower = origin.toLowerCase();
  return lower === new URL(publicUrl).origin || (peerOrigins?.has(lower) ?? false);
}

/**
 * Heartbeat of volunteer connections: a ping every 10 s, answered within 20 s (a pong can queue
 * behind a result of several MiB on a slow uplink).
 */
export const HEARTBEAT_INTERVAL_MS = 10_000;
export const HEARTBEAT_TIMEOUT_MS = 20_000;

const STALE_MESSAGE =
  'lease is no longer active (expired, released, revoked or completed by another call): drop the work';

/** Attaches the `/volunteer` namespace to `server`. */
export function attachVolunteerSocket(deps: VolunteerSocketDeps): VolunteerSocket {
  const log = deps.logger ?? silent;
  const now = deps.now ?? Date.now;
  const { scheduler, limits } = deps;
  const refusals = createRefusalLog(log, deps.refusalLogIntervalMs);
  const packetBytes = maxMessageBytes(limits.maxOutputBytes);
  // At least two of the largest results in all; a connection holds at most a quarter of it.
  const inflightBytes = Math.max(limits.socketInflightBytes, 2 * packetBytes);
  const guard = createPacketGuard({
    inflightBytes,
    messageBytes: packetBytes,
    ungrantedBytesPerSecond: limits.ungrantedResultBytesPerSecond,
    now,
    connectionInflightBytes: Math.max(2 * packetBytes, Math.floor(inflightBytes / 4)),
    onRefused: (kind, closed) => {
      if (closed) refusals.count(`${kind} (connection closed)`, '-');
    },
  });
  const limiter = createEventLimiter({
    perConnectionPerSecond: limits.socketEventsPerSecond,
    perConnectionBurst: limits.socketEventBurst,
    perAddressPerSecond: limits.addressEventsPerSecond,
    perAddressBurst: limits.addressEventBurst,
    floodDisconnect: limits.socketFloodDisconnect,
  });
  const cap = createConnectionCap(limits.connectionsPerAddress);
  const io = new Server<VolunteerClientEvents, VolunteerServerEvents, Record<string, never>, VolunteerConnection>(deps.server, {
    // The largest legitimate message is a result's output; ws refuses a larger one as it arrives.
    maxHttpBufferSize: packetBytes,
    parser: guard.parser,
    serveClient: false,
    ...(deps.adapter ? { adapter: deps.adapter } : {}),
    // WebSocket only (every client of ours uses it: a polling session would have no socket to count
    // against its address, and its bodies are buffered by engine.io), no compression.
    ...IDLE_CONNECTION_OPTIONS,
    // A volunteer whose network vanished without closing the socket is noticed within 30 s
    // (Socket.IO's defaults: 45 s), and its leases released then.
    pingInterval: deps.heartbeat?.intervalMs ?? HEARTBEAT_INTERVAL_MS,
    pingTimeout: deps.heartbeat?.timeoutMs ?? HEARTBEAT_TIMEOUT_MS,
    allowRequest: (req: IncomingMessage, callback) => {
      const ok = originAllowed(req.headers.origin, deps.publicUrl, deps.peerOrigins?.());
      if (!ok) {
        log.warn({ origin: req.headers.origin }, 'volunteer connection refused: foreign origin');
        callback('origin not allowed: volunteers connect from the coordinator\'s frame', false);
        return;
      }
      const admitted = cap.admit(req);
      if (!admitted.ok) refusals.count('too many connections', admitted.address);
      callback(admitted.ok ? null : admitted.message, admitted.ok);
    },
  });

  // Registered after Socket.IO's own listener, which made this connection's decoder just now.
  io.engine.on('connection', (conn: EngineConnection) => guard.bind(conn));
  coalesceFlushWrites(io.engine);

  // Nothing is served on the main namespace.
  io.of('/').use((_socket, next) => next(new Error(`connect to the ${VOLUNTEER_NAMESPACE} namespace`)));

  const nsp = io.of(VOLUNTEER_NAMESPACE);
  const checkAuth = compileChecker(VolunteerAuth, 'auth');

  // Leases a connection adopted while it was admitted, until it is told of them.
  const adoptedBy = new WeakMap<VolunteerIoSocket, string[]>();
  nsp.use((socket, next) => {
    const auth = checkAuth(socket.handshake.auth);
    if (!auth.ok) {
      next(Object.assign(new Error(auth.message), { data: errorBody('bad_request', auth.message) }));
      return;
    }
    const admit = async (): Promise<void> => {
      const site = await deps.store.getSite(auth.value.siteKey);
      if (!site) {
        const message = `unknown site key ${auth.value.siteKey}`;
        next(Object.assign(new Error(message), { data: errorBody('site_not_found', message) }));
        return;
      }
      socket.data = {
        volunteerId: auth.value.volunteerId,
        sessionId: deps.sessionIdOf?.(socket.id) ?? socket.id,
        siteKey: site.siteKey,
        // The TCP peer's address only: no proxy header is trusted.
        address: addressKey(socket.handshake.address),
      };
      // The volunteer's previous connection, when it is still up here as the same volunteer: the
      // volunteer says it dropped, though this node has not noticed yet (no heartbeat missed).
      const previous = auth.value.resumes === undefined ? undefined : nsp.sockets.get(auth.value.resumes);
      const replaced = previous?.data.volunteerId === auth.value.volunteerId ? previous : undefined;
      // The volunteer adopts its leases left by a dead connection before any event of this one is
      // handled, so the sweep never releases work that is about to be answered.
      adoptedBy.set(socket, await scheduler.connect(socket.data, replaced?.data.sessionId, auth.value.holding));
      // Closed after the adoption, so that its end releases nothing of what moved.
      replaced?.disconnect(true);
      // A client that left meanwhile gets no `connection` and no `disconnect` from Socket.IO: its
      // session ends here, and the leases it adopted go back to the queue.
      // Uncounted: the volunteer is alive and trying again.
      if (socket.conn.readyState !== 'open') await scheduler.disconnect(socket.data.sessionId, 'ended');
      // A session id that is not the socket id is a room of its own, so `revoke` finds it on any node.
      if (socket.data.sessionId !== socket.id) void socket.join(socket.data.sessionId);
      next();
    };
    admit().catch((error: unknown) => {
      log.error({ err: error }, 'admitting a volunteer failed');
      next(Object.assign(new Error('internal error'), { data: errorBody('internal', 'internal error') }));
    });
  });

  nsp.on('connection', (socket: VolunteerIoSocket) => {
    releaseHandshakeRequest(socket.conn);
    const ref = (): VolunteerRef => socket.data;
    const events: EventContext = {
      socket,
      buckets: limiter.open(socket.data.address),
      granted: guard.grantedOf(socket.conn),
      limiter,
      guard,
      refusals,
      log,
      now,
    };
    // Told before any acknowledgement: the volunteer drops what it still runs from an earlier
    // connection and was not adopted (it was taken back when that connection ended). Answers to
    // the adopted leases are this connection's own, so they pay no tokens.
    const adopted = adoptedBy.get(socket) ?? [];
    adoptedBy.delete(socket);
    for (const leaseId of adopted) grant(events.granted, leaseId);
    socket.emit('adopted', { leaseIds: adopted });
    // Every grant says that this coordinator takes batched `results`.
    handle(events, 'lease', LeaseRequest, async (payload) => {
      const reply = await scheduler.lease(ref(), payload);
      for (const lease of reply.leases) grant(events.granted, lease.leaseId);
      return { reply: { ...reply, resultsBatch: MAX_RESULTS_PER_EVENT }, productive: reply.leases.length > 0 };
    });
    const oneResult = async (payload: ResultRequest): Promise<Ok> => {
      // The scheduler refuses an oversized output and records it on the task (not a later timeout).
      const outcome = await scheduler.result(ref(), payload);
      if (outcome === 'stale') throw new CodedError('stale_lease', STALE_MESSAGE);
      return { ok: true } as const;
    };
    handle(events, 'result', ResultRequest, async (payload) => {
      const reply = await oneResult(payload);
      return { reply, productive: events.granted.delete(payload.leaseId) };
    });
    // Each result of a batch is answered as its own `result` event would be; together they join
    // one group commit. The batch is one event: it pays one token, given back when it answers a
    // lease granted on this connection.
    handle(events, 'results', ResultsRequest, async (payload) => {
      const total = payload.results.reduce((sum, result) => sum + result.output.byteLength, 0);
      if (total > limits.maxOutputBytes) {
        throw new CodedError('payload_too_large', `results: outputs of ${total} bytes together exceed ${limits.maxOutputBytes} bytes; send them one by one`);
      }
      const outcomes = await Promise.all(payload.results.map((result) => oneResult(result).catch((thrown: unknown) => replyError(thrown, log, 'results', socket.id))));
      const productive = payload.results.map((result) => events.granted.delete(result.leaseId)).some(Boolean);
      return { reply: { outcomes }, productive };
    });
    handle(events, 'fail', FailRequest, async (payload) => {
      const outcome = await scheduler.fail(ref(), payload);
      if (outcome === 'stale') throw new CodedError('stale_lease', STALE_MESSAGE);
      return { reply: { ok: true } as const, productive: events.granted.delete(payload.leaseId) };
    });
    answerUnknownEvents(events);
    socket.on('disconnect', (reason) => {
      const sessionId = socket.data.sessionId;
      scheduler.disconnect(sessionId, releaseCause(reason)).catch((error: unknown) => log.error({ err: error, session: sessionId }, 'releasing leases failed'));
    });
  });

  return {
    io,
    revoke(sessionId, leaseIds) {
      if (leaseIds.length === 0) return;
      // A session of this node is told directly; any other goes through the adapter to its node.
      if (nsp.adapter.rooms.has(sessionId)) nsp.local.to(sessionId).emit('revoke', { leaseIds });
      else nsp.to(sessionId).emit('revoke', { leaseIds });
    },
    heldResultBytes: () => guard.heldBytes(),
    wake(sessionIds) {
      // Idle sessions are this node's own: no broadcast to the others.
      if (sessionIds.length > 0) nsp.local.to(sessionIds).emit('work', {});
    },
    async close() {
      refusals.close();
      nsp.disconnectSockets(true);
      // Closes engine.io's clients and detaches from the HTTP server without closing it (fastify does that).
      io.engine.close();
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

/**
 * How a connection's end counts for its leases: a volunteer that said goodbye (its own
 * `disconnect()`) or a coordinator that closed the connection (shutting down) is `ended`;
 * anything else (the transport closed or errored, the heartbeat went unanswered) is `vanished`,
 * which is how a closed tab looks, and also a crashed one.
 */
export function releaseCause(reason: string): ReleaseCause {
  return reason === 'client namespace disconnect' || reason === 'server namespace disconnect' || reason === 'server shutting down' ? 'ended' : 'vanished';
}

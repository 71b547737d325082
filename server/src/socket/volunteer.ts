/**
 * The `/volunteer` Socket.IO namespace: admits connections (Origin check, handshake `auth`, site
 * exists), validates every event's payload with the protocol's schemas, calls the scheduler as the
 * connection's volunteer and acknowledges; tells a session to drop revoked leases.
 *
 * A refused event is acknowledged with `{ error: { code, message } }` and the connection stays up.
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Static, TSchema } from '@sinclair/typebox';
import { Server, type Socket } from 'socket.io';
import { CodedError, errorBody, toError, type ErrorBody } from '../protocol/errors.ts';
import {
  FailRequest,
  LeaseRequest,
  ResultRequest,
  VOLUNTEER_NAMESPACE,
  VolunteerAuth,
  type VolunteerClientEvents,
  type VolunteerServerEvents,
} from '../protocol/events.ts';
import type { Scheduler, VolunteerRef } from '../scheduling/index.ts';
import type { ReleaseCause, Store } from '../store/index.ts';
import { compileChecker, type Checker } from '../http/index.ts';
import { IDLE_CONNECTION_OPTIONS, releaseHandshakeRequest } from './tuning.ts';

/** The part of the scheduler the namespace drives. */
export type VolunteerScheduler = Pick<Scheduler, 'connect' | 'lease' | 'result' | 'fail' | 'disconnect'>;

/** Minimal logger (pino's shape). */
export interface SocketLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface VolunteerSocketDeps {
  server: HttpServer;
  scheduler: VolunteerScheduler;
  store: Pick<Store, 'getSite'>;
  /** The coordinator's public origin (no trailing slash): browsers may connect only from it. */
  publicUrl: string;
  maxOutputBytes: number;
  logger?: SocketLogger;
  /** Ping interval and answer timeout (default 10 s and 20 s); tests shorten them. */
  heartbeat?: { intervalMs: number; timeoutMs: number };
}

export interface VolunteerSocket {
  io: Server;
  /** Tells the session's connection to drop these leases (no-op when it is gone). */
  revoke(sessionId: string, leaseIds: string[]): void;
  /** Tells these sessions' connections that work appeared (no-op for those gone). */
  wake(sessionIds: string[]): void;
  /** Disconnects every volunteer and detaches from the HTTP server (which it leaves open). */
  close(): Promise<void>;
}

type VolunteerData = VolunteerRef;
type VolunteerIoSocket = Socket<VolunteerClientEvents, VolunteerServerEvents, Record<string, never>, VolunteerData>;

const silent: SocketLogger = { info() {}, warn() {}, error() {} };

/**
 * A browser connection may come only from the coordinator's own public origin (its frame); a Node
 * agent sends no Origin. The Host header is not trusted: with DNS rebinding an attacker's page can
 * make Origin and Host agree on a name of its own.
 */
export function originAllowed(origin: string | undefined, publicUrl: string): boolean {
  if (origin === undefined) return true;
  return origin.toLowerCase() === new URL(publicUrl).origin;
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
  const { scheduler } = deps;
  const io = new Server<VolunteerClientEvents, VolunteerServerEvents, Record<string, never>, VolunteerData>(deps.server, {
    // Room for the largest output plus the event's framing.
    maxHttpBufferSize: deps.maxOutputBytes + 64 * 1024,
    serveClient: false,
    ...IDLE_CONNECTION_OPTIONS,
    // A volunteer whose network vanished without closing the socket is noticed within 30 s
    // (Socket.IO's defaults: 45 s), and its leases released then.
    pingInterval: deps.heartbeat?.intervalMs ?? HEARTBEAT_INTERVAL_MS,
    pingTimeout: deps.heartbeat?.timeoutMs ?? HEARTBEAT_TIMEOUT_MS,
    allowRequest: (req: IncomingMessage, callback) => {
      const ok = originAllowed(req.headers.origin, deps.publicUrl);
      if (!ok) log.warn({ origin: req.headers.origin }, 'volunteer connection refused: foreign origin');
      callback(ok ? null : 'origin not allowed: volunteers connect from the coordinator\'s frame', ok);
    },
  });

  // Nothing is served on the main namespace.
  io.of('/').use((_socket, next) => next(new Error(`connect to the ${VOLUNTEER_NAMESPACE} namespace`)));

  const nsp = io.of(VOLUNTEER_NAMESPACE);
  const checkAuth = compileChecker(VolunteerAuth, 'auth');

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
      socket.data = { volunteerId: auth.value.volunteerId, sessionId: socket.id, siteKey: site.siteKey };
      // The volunteer adopts its leases left by a dead connection before any event of this one is
      // handled, so the sweep never releases work that is about to be answered.
      await scheduler.connect(socket.data);
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
    handle(socket, 'lease', LeaseRequest, log, (payload) => scheduler.lease(ref(), payload));
    handle(socket, 'result', ResultRequest, log, async (payload) => {
      // The scheduler refuses an oversized output and records it on the task (not a later timeout).
      const outcome = await scheduler.result(ref(), payload);
      if (outcome === 'stale') throw new CodedError('stale_lease', STALE_MESSAGE);
      return { ok: true } as const;
    });
    handle(socket, 'fail', FailRequest, log, async (payload) => {
      const outcome = await scheduler.fail(ref(), payload);
      if (outcome === 'stale') throw new CodedError('stale_lease', STALE_MESSAGE);
      return { ok: true } as const;
    });
    socket.on('disconnect', (reason) => {
      scheduler.disconnect(socket.id, releaseCause(reason)).catch((error: unknown) => log.error({ err: error, session: socket.id }, 'releasing leases failed'));
    });
  });

  return {
    io,
    revoke(sessionId, leaseIds) {
      if (leaseIds.length > 0) nsp.to(sessionId).emit('revoke', { leaseIds });
    },
    wake(sessionIds) {
      if (sessionIds.length > 0) nsp.to(sessionIds).emit('work', {});
    },
    async close() {
      nsp.disconnectSockets(true);
      // Closes engine.io's clients and detaches from the HTTP server without closing it (fastify does that).
      io.engine.close();
      await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

/**
 * Registers one acknowledged event: validates the payload, runs `run`, and acks its reply or the
 * error as data. An event without an acknowledgement callback cannot be answered and is ignored.
 */
function handle<S extends TSchema, R>(
  socket: VolunteerIoSocket,
  event: keyof VolunteerClientEvents,
  schema: S,
  log: SocketLogger,
  run: (payload: Static<S>) => Promise<R>,
): void {
  const check: Checker<Static<S>> = compileChecker(schema, event);
  // Socket.IO's typed `on` cannot express "payload unknown until validated": register untyped.
  (socket as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(event, (...args) => {
    const ack = args.at(-1);
    if (typeof ack !== 'function') {
      log.warn({ event, session: socket.id }, 'event without acknowledgement ignored');
      return;
    }
    const reply = ack as (reply: R | ErrorBody) => void;
    if (args.length !== 2) {
      reply(errorBody('bad_request', `${event}: expected one payload and an acknowledgement`));
      return;
    }
    const checked = check(args[0]);
    if (!checked.ok) {
      reply(errorBody('bad_request', checked.message));
      return;
    }
    run(checked.value).then(reply, (thrown: unknown) => {
      const error = toError(thrown);
      if (error.code === 'internal') log.error({ err: thrown, event, session: socket.id }, 'event failed');
      reply(error.code === 'internal' ? errorBody('internal', 'internal error') : error.toBody());
    });
  });
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

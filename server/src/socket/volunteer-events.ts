/**
 * How one `/volunteer` connection's events are taken: each event pays its tokens (event-limiter.ts)
 * unless it answers leases granted on the connection, a flooder is closed, the payload is checked
 * against the protocol's schema, and every event with an acknowledgement is answered, refusals as
 * coded errors. The namespace (volunteer.ts) registers the events through `handle`.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { Socket } from 'socket.io';
import { errorBody, toError, type ErrorBody } from '../protocol/errors.ts';
import type { VolunteerClientEvents, VolunteerServerEvents } from '../protocol/events.ts';
import { compileChecker, type Checker } from '../http/index.ts';
import { LEASE_COST, type ConnectionBuckets, type EventLimiter } from './event-limiter.ts';
import { RefusedPayload, type EngineConnection, type PacketGuard } from './packet-guard.ts';
import { answeredLeaseIds, VOLUNTEER_EVENTS } from './packet-limits.ts';
import type { VolunteerRef } from '../scheduling/index.ts';
import type { RefusalLog } from './refusal-log.ts';

/** Minimal logger (pino's shape). */
export interface SocketLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A connection's volunteer, with the address its limits count against (`addressKey`). */
export type VolunteerConnection = VolunteerRef & { address: string };
export type VolunteerIoSocket = Socket<VolunteerClientEvents, VolunteerServerEvents, Record<string, never>, VolunteerConnection>;

/** What every event handler of one connection shares. */
export interface EventContext {
  socket: VolunteerIoSocket;
  buckets: ConnectionBuckets;
  /** Leases granted on this connection and not yet answered: their answers are productive. */
  granted: Set<string>;
  limiter: EventLimiter;
  guard: PacketGuard;
  refusals: RefusalLog;
  log: SocketLogger;
  now: () => number;
}

/** Granted leases remembered per connection; past it the oldest are forgotten (their answers then cost a token). */
const GRANTED_REMEMBERED = 1024;

export function grant(granted: Set<string>, leaseId: string): void {
  granted.add(leaseId);
  if (granted.size > GRANTED_REMEMBERED) granted.delete(granted.values().next().value!);
}

type Ack<R> = (reply: R | ErrorBody) => void;

/** How long a flooder closed for it keeps its (unread) connection: time for the disconnect packet to leave. */
const FLOODER_CUT_AFTER_MS = 1_000;

const costOf = (event: string): number => (event === 'lease' ? LEASE_COST : 1);

/**
 * Takes the event's token; when it is refused, answers `rate_limited` (if it can) and closes a
 * connection that keeps flooding. True when the event may go on.
 */
function admitted(context: EventContext, event: string, ack: Ack<never> | undefined): boolean {
  const decision = context.limiter.take(context.buckets, context.now(), costOf(event));
  if (decision.allowed) return true;
  const { socket } = context;
  context.refusals.count(decision.disconnect ? 'flood: connection closed' : 'rate_limited', socket.data.address);
  const message = `${event}: too many events; wait ${decision.retryAfterMs} ms`;
  ack?.({ error: { code: 'rate_limited', message, retryAfterMs: decision.retryAfterMs } } as ErrorBody);
  if (decision.disconnect) {
    // Stop reading first: a graceful close keeps reading and parsing what the flooder already sent
    // until its close frame comes back, and a flood sends thousands of frames first. The
    // disconnect packet still goes out (the client then knows not to reconnect); the connection is
    // cut a moment later rather than at WebSocket's 30 s close timer.
    const { transport } = socket.conn as unknown as EngineConnection;
    transport.socket?.pause?.();
    socket.disconnect(true);
    setTimeout(() => transport.socket?.terminate?.(), FLOODER_CUT_AFTER_MS).unref();
  }
  return false;
}

/**
 * Registers one acknowledged event: checks its size verdict and rate, validates the payload, runs
 * `run`, and acks its reply or the error as data; a productive event gives its token back. An
 * event without an acknowledgement callback cannot be answered: it costs its token and is dropped.
 */
export function handle<S extends TSchema, R>(
  context: EventContext,
  event: keyof VolunteerClientEvents,
  schema: S,
  run: (payload: Static<S>) => Promise<{ reply: R; productive: boolean }>,
): void {
  const { socket, log, refusals } = context;
  const check: Checker<Static<S>> = compileChecker(schema, event);
  // Socket.IO's typed `on` cannot express "payload unknown until validated": register untyped.
  (socket as unknown as { on(event: string, listener: (...args: unknown[]) => void): void }).on(event, (...args) => {
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (last as Ack<R>) : undefined;
    const payload = args[0];
    // An answer to leases granted on this connection is owed, not requested: it passes free (their
    // number is bounded by the grants, which pay as leases), so a volunteer behind a busy shared
    // address never has a finished result refused.
    // Each grant is owed one answer: taken now, so repeats of it pay like any event.
    const owed = ack !== undefined && takeOwedAnswers(event, payload, context.granted);
    if (!owed && !admitted(context, event, ack)) {
      context.guard.release(payload);
      return;
    }
    if (!ack) {
      context.guard.release(payload);
      refusals.count('event without acknowledgement', socket.data.address);
      return;
    }
    if (payload instanceof RefusedPayload) {
      refusals.count(`${event}: ${payload.kind}`, socket.data.address);
      ack(errorBody(payload.code, payload.message));
      return;
    }
    if (args.length !== 2) {
      context.guard.release(payload);
      ack(errorBody('bad_request', `${event}: expected one payload and an acknowledgement`));
      return;
    }
    const checked = check(payload);
    if (!checked.ok) {
      context.guard.release(payload);
      ack(errorBody('bad_request', checked.message));
      return;
    }
    run(checked.value).then(
      ({ reply, productive }) => {
        context.guard.release(payload);
        if (productive && !owed) context.limiter.refund(context.buckets, context.now(), costOf(event));
        ack(reply);
      },
      (thrown: unknown) => {
        context.guard.release(payload);
        ack(replyError(thrown, log, event, socket.id));
      },
    );
  });
}

/**
 * Whether `payload` of a `result`, `results` or `fail` answers only leases granted on this
 * connection and not answered yet; if so they count as answered from now on.
 */
export function takeOwedAnswers(event: string, payload: unknown, granted: Set<string>): boolean {
  const leaseIds = answeredLeaseIds(event, payload);
  const owed = leaseIds !== undefined && new Set(leaseIds).size === leaseIds.length && leaseIds.every((id) => granted.has(id));
  if (owed) for (const id of leaseIds) granted.delete(id);
  return owed;
}

/** Any other event is answered `bad_request` (after its token), so a confused client hears why. */
export function answerUnknownEvents(context: EventContext): void {
  const known: readonly unknown[] = VOLUNTEER_EVENTS;
  context.socket.onAny((event: unknown, ...args: unknown[]) => {
    if (known.includes(event)) return;
    const last = args.at(-1);
    const ack = typeof last === 'function' ? (last as Ack<never>) : undefined;
    if (!admitted(context, String(event), ack)) return;
    context.refusals.count(ack ? 'unknown event' : 'event without acknowledgement', context.socket.data.address);
    const name = String(event).slice(0, 64);
    ack?.(errorBody('bad_request', `unknown event ${JSON.stringify(name)}: expected ${VOLUNTEER_EVENTS.join(', ')}`));
  });
}

/** The error body an event (or one item of a batch) is answered with; internal errors are logged, not told. */
export function replyError(thrown: unknown, log: SocketLogger, event: string, session: string): ErrorBody {
  const error = toError(thrown);
  if (error.code === 'internal') log.error({ err: thrown, event, session }, 'event failed');
  return error.code === 'internal' ? errorBody('internal', 'internal error') : error.toBody();
}


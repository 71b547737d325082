/**
 * The `/volunteer` Socket.IO protocol, declared once: TypeBox schemas (runtime validation on the
 * server) and the typed event maps that both the coordinator and every client import.
 * Binary data travels as binary (Buffer on Node, ArrayBuffer/Uint8Array in browsers).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { ErrorBody } from './errors.ts';

/** Namespace every volunteer connects to. */
export const VOLUNTEER_NAMESPACE = '/volunteer';

const strict = { additionalProperties: false } as const;

/** A module's content address: lowercase hex SHA-256. */
export const ModuleHash = Type.String({ pattern: '^[0-9a-f]{64}$' });

export const FailureKind = Type.Union([
  Type.Literal('trap'),
  Type.Literal('timeout'),
  Type.Literal('memory'),
  Type.Literal('invalid'),
]);
export type FailureKind = Static<typeof FailureKind>;

/** Most lease ids a handshake's `holding` names. */
export const MAX_HOLDING = 256;

/** Handshake `auth` of every volunteer connection. */
export const VolunteerAuth = Type.Object(
  {
    siteKey: Type.String({ minLength: 1, maxLength: 128 }),
    volunteerId: Type.String({ pattern: '^[A-Za-z0-9_-]{8,128}$' }),
    agent: Type.Union([Type.Literal('browser'), Type.Literal('node')]),
    /**
     * The socket id of this volunteer's previous connection, when it reconnects (an addition to the
     * protocol). A coordinator that still counts that connection as up (it has not noticed the drop
     * yet) closes it and lets the new one adopt its leases, instead of keeping them for it.
     */
    resumes: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
    /**
     * On reconnecting, the leases the volunteer still has from earlier connections: running,
     * queued, or finished with the report not yet acknowledged (an addition to the protocol;
     * absent when it holds more than 256, or cannot tell). The new connection adopts only these;
     * any other live lease of the volunteer's dead connections (granted by a reply that never
     * arrived, or lost with a reloaded page) is released at once, uncounted, instead of waiting
     * out its deadline as a counted timeout.
     */
    holding: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: MAX_HOLDING })),
  },
  strict,
);
export type VolunteerAuth = Static<typeof VolunteerAuth>;

export const LeaseRequest = Type.Object(
  {
    /** Leases wanted now: free worker slots, plus room to queue one more per worker (prefetch). */
    slots: Type.Integer({ minimum: 1, maximum: 128 }),
    /** Workers the volunteer runs: the coordinator holds its prefetch to one queued lease per worker. */
    workers: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
    /** Hashes of modules the volunteer already holds (a locality hint). */
    cached: Type.Optional(Type.Array(ModuleHash, { maxItems: 256 })),
  },
  strict,
);
export type LeaseRequest = Static<typeof LeaseRequest>;

/** Limits the runtime enforces for one lease. */
export interface LeaseLimits {
  /** Wall-clock budget for the task in the worker, in ms. */
  timeMs: number;
  /** Linear-memory cap in bytes (a multiple of 64 KiB). */
  maxMemoryBytes: number;
  /** Largest output the coordinator accepts, in bytes. */
  maxOutputBytes: number;
}

/** The job a lease belongs to, so the volunteer's frame can show what its CPU works on. */
export interface LeaseJob {
  id: string;
  /** The job's title, or null. */
  title: string | null;
  /** What the work is for (plain text, at most 280 characters), or null. */
  purpose: string | null;
}

/** One unit of work handed to a volunteer. `module.url` is a path on the coordinator. */
export interface Lease {
  leaseId: string;
  taskId: string;
  job: LeaseJob;
  module: { hash: string; url: string };
  input: Uint8Array;
  /** Epoch ms after which the coordinator takes the task back. */
  deadline: number;
  limits: LeaseLimits;
}

export const ResultRequest = Type.Object(
  {
    leaseId: Type.String({ minLength: 1, maxLength: 128 }),
    output: Type.Uint8Array(),
    cpuMs: Type.Number({ minimum: 0, maximum: 86_400_000 }),
  },
  strict,
);
export type ResultRequest = Static<typeof ResultRequest>;

/**
 * Most results one `results` event carries: each output is one binary attachment, and Socket.IO's
 * parsers refuse a packet of more than 10 (the same bound as leases per request).
 */
export const MAX_RESULTS_PER_EVENT = 8;

/**
 * Several results in one event (an addition to the protocol: a coordinator that takes it says so
 * in its lease grants' `resultsBatch`). Each is judged as its own `result` event would be.
 */
export const ResultsRequest = Type.Object(
  { results: Type.Array(ResultRequest, { minItems: 1, maxItems: MAX_RESULTS_PER_EVENT }) },
  strict,
);
export type ResultsRequest = Static<typeof ResultsRequest>;

export const FailRequest = Type.Object(
  {
    leaseId: Type.String({ minLength: 1, maxLength: 128 }),
    kind: FailureKind,
    message: Type.String({ maxLength: 2000 }),
  },
  strict,
);
export type FailRequest = Static<typeof FailRequest>;

export const RevokeNotice = Type.Object({ leaseIds: Type.Array(Type.String()) }, strict);
export type RevokeNotice = Static<typeof RevokeNotice>;

/**
 * Sent once on every connection, before any acknowledgement (an addition to the protocol): the
 * leases of this volunteer that the new connection took over from a connection that died (after a
 * coordinator restart, on another node after its own died, or the one named in `resumes`), within
 * what `holding` named. Any other lease the volunteer still runs or queues from an earlier
 * connection was taken back when that connection ended: drop it.
 */
export const AdoptedNotice = Type.Object({ leaseIds: Type.Array(Type.String()) }, strict);
export type AdoptedNotice = Static<typeof AdoptedNotice>;

export type Ok = { ok: true };
/**
 * `retryAfterMs`, with no leases: the volunteer is cooling down after a strike and should not ask
 * again before then (it is sent no `work` hint meanwhile).
 */
export type LeaseGrant = {
  leases: Lease[];
  retryAfterMs?: number;
  /**
   * The coordinator takes `results` events of up to this many results (absent: send each result
   * in its own `result` event). Outputs in one event together stay within `maxOutputBytes`.
   */
  resultsBatch?: number;
};
/**
 * An event refused for its rate (`SPARECYCLES_SOCKET_EVENTS_PER_SECOND` and the like): send nothing
 * but answers to held leases before `retryAfterMs`; a connection that keeps sending is closed.
 */
export type RateLimitedBody = { error: { code: 'rate_limited'; message: string; retryAfterMs: number } };
export type LeaseReply = LeaseGrant | ErrorBody;
export type AckReply = Ok | ErrorBody;
/** Per result of a `results` event, in its order: what a `result` event would have answered. */
export type ResultsReply = { outcomes: AckReply[] } | ErrorBody;

/** Events a volunteer sends; every one is acknowledged. */
export interface VolunteerClientEvents {
  lease(payload: LeaseRequest, ack: (reply: LeaseReply) => void): void;
  result(payload: ResultRequest, ack: (reply: AckReply) => void): void;
  results(payload: ResultsRequest, ack: (reply: ResultsReply) => void): void;
  fail(payload: FailRequest, ack: (reply: AckReply) => void): void;
}

/** A hint with no payload; clients that do not know it lose nothing but a little latency. */
export type WorkNotice = Record<string, never>;

/** Events the coordinator sends to a volunteer. */
export interface VolunteerServerEvents {
  /** The job was cancelled or the lease reassigned: drop the work. */
  revoke(payload: RevokeNotice): void;
  /** Work became available since this session was last told there was none: ask now. */
  work(payload: WorkNotice): void;
  /** On connecting: the earlier connections' leases this one holds now; drop any other. */
  adopted(payload: AdoptedNotice): void;
}

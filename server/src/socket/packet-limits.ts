/**
 * How large each `/volunteer` packet may be, derived from the limits and the event schemas (pure).
 *
 * A Socket.IO event with binary data travels as one text frame (the JSON, with a placeholder for
 * each binary) followed by one WebSocket message per binary attachment. The coordinator sees the
 * text frame whole before any attachment, so it can refuse an event by its name, the size of its
 * JSON and its number of attachments before it keeps any of the attachments (see packet-guard.ts).
 */
import { MAX_RESULTS_PER_EVENT, VOLUNTEER_NAMESPACE } from '../protocol/events.ts';

/** The `/volunteer` events, by what the coordinator accepts of each. */
export const VOLUNTEER_EVENTS = ['lease', 'result', 'results', 'fail'] as const;
export type VolunteerEvent = (typeof VOLUNTEER_EVENTS)[number];

export interface EventPacketLimit {
  /** Longest text frame (the packet's JSON with its prefix), in UTF-16 units. */
  textChars: number;
  /** Binary attachments the event may carry. */
  attachments: number;
}

/** Room for a packet's framing: type, attachment count, namespace, ack id, event name. */
const PREFIX = `51-${VOLUNTEER_NAMESPACE},${Number.MAX_SAFE_INTEGER}["result",`.length;
/** A string of `n` characters that each take the most room in JSON (`\u0000`, six). */
const worst = (n: number): string => '\u0000'.repeat(n);
/** The longest number JSON writes for a double. */
const LONGEST_NUMBER = -1.2345678901234567e-300;
/** A binary attachment's placeholder in the text frame. */
const PLACEHOLDER = { _placeholder: true, num: 0 };

const textOf = (payload: unknown): number => PREFIX + JSON.stringify(payload).length + 1;

/**
 * The largest text frame each event's schema admits (protocol/events.ts), and its attachments:
 * a `lease` with 256 cached hashes (about 17 KiB), a `fail` with a 2,000-character message, a
 * `result` whose only binary is its output, a `results` batch of such results. A schema change that makes a valid payload larger
 * fails packet-limits.test.ts, which builds the largest payloads from the schemas' bounds.
 */
export const EVENT_PACKET_LIMITS: Readonly<Record<VolunteerEvent, EventPacketLimit>> = Object.freeze({
  lease: {
    textChars: textOf({ slots: LONGEST_NUMBER, workers: LONGEST_NUMBER, cached: Array<string>(256).fill('f'.repeat(64)) }),
    attachments: 0,
  },
  result: { textChars: textOf({ leaseId: worst(128), output: PLACEHOLDER, cpuMs: LONGEST_NUMBER }), attachments: 1 },
  results: {
    textChars: textOf({ results: Array.from({ length: MAX_RESULTS_PER_EVENT }, () => ({ leaseId: worst(128), output: PLACEHOLDER, cpuMs: LONGEST_NUMBER })) }),
    attachments: MAX_RESULTS_PER_EVENT,
  },
  fail: { textChars: textOf({ leaseId: worst(128), kind: 'timeout', message: worst(2000) }), attachments: 0 },
});

/** Anything else a volunteer may send (an unknown event, an ack): answered, never large. */
export const OTHER_PACKET_LIMIT: EventPacketLimit = Object.freeze({ textChars: 1024, attachments: 0 });

/** The handshake's CONNECT packet: the `auth` object (site key, volunteer id, agent). */
export const CONNECT_PACKET_CHARS = textOf({ siteKey: worst(128), volunteerId: 'v'.repeat(128), agent: 'browser' });

/** Framing allowed around a result's output in one WebSocket message. */
export const ATTACHMENT_FRAMING_BYTES = 64 * 1024;

/**
 * `maxHttpBufferSize`: the largest WebSocket message accepted at all. The largest legitimate one
 * is a result's output (`maxOutputBytes`); text frames are far smaller. A larger message closes
 * the connection (WebSocket close 1009) while it is being received, before it is kept whole.
 */
export function maxMessageBytes(maxOutputBytes: number): number {
  return maxOutputBytes + ATTACHMENT_FRAMING_BYTES;
}

/** The packet limit of an event name (unknown names get the small default). */
export function packetLimitOf(event: string): EventPacketLimit {
  return (VOLUNTEER_EVENTS as readonly string[]).includes(event) ? EVENT_PACKET_LIMITS[event as VolunteerEvent] : OTHER_PACKET_LIMIT;
}

/**
 * The leases a `result`, `results` or `fail` payload answers (not yet validated: read with care),
 * or undefined when it is another event or names a lease id that is not a string.
 */
export function answeredLeaseIds(event: string | undefined, payload: unknown): string[] | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { leaseId, results } = payload as { leaseId?: unknown; results?: unknown };
  const ids =
    event === 'result' || event === 'fail'
      ? [leaseId]
      : event === 'results' && Array.isArray(results)
        ? results.map((item: unknown) => (item as { leaseId?: unknown } | null)?.leaseId)
        : [];
  return ids.length > 0 && ids.every((id): id is string => typeof id === 'string') ? ids : undefined;
}

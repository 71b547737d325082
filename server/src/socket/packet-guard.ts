/**
 * Socket.IO's packet decoder for `/volunteer`, with the size checks done before anything large is
 * kept (socket.io-parser's Decoder, extended; installed with the Server's `parser` option).
 *
 * What each stage buffers, and where this guard stands:
 * - ws (under engine.io) receives one WebSocket message whole before handing it on, up to
 *   `maxHttpBufferSize` (`maxMessageBytes`): a larger one closes the connection as its length is
 *   read. No earlier refusal is possible without replacing ws; a connection holds at most one such
 *   message at a time, and the connections per address are capped (connection-cap.ts).
 * - socket.io-parser reads the text frame (JSON with placeholders), then collects the binary
 *   attachments that follow into the packet. Here, before that: the text frame's length is checked
 *   against its event's limit (packet-limits.ts) before it is parsed; a `lease`, `fail` or unknown
 *   event announcing attachments, or a `result` announcing more than one (a `results` batch: more than its items), is refused from the
 *   header and its attachments are dropped one by one as they come, never joined or parsed.
 * - A `result` for a lease not granted on its connection (made up, already answered, or released
 *   with an earlier connection; leases a connection adopted count as granted to it) is admitted
 *   through a gate before its output is read: at most a quarter of the in-flight budget of such
 *   outputs may be on their way at once, and no more bytes a second than `ungrantedBytesPerSecond`.
 *   One that comes while the gate is shut closes its connection at once, its output unread. An
 *   honest client meets this only with a stale report while the gate is full (a flood of made-up
 *   results, or slow senders holding its room), and reconnects. Pausing such connections instead
 *   (TCP backpressure) let the kernel keep megabytes of each one's output, and when heartbeats
 *   closed hundreds of them together, freeing it all stalled the coordinator for most of a second
 *   (400 sockets of 4 MiB: the honest volunteer at a tenth of its rate).
 *   Results for leases granted on the connection pass at once: they are bounded by the grants.
 * - A `result`'s output is kept from its arrival until the event is answered (`release`). Those
 *   bytes are counted per connection and in all: past the global budget the result is refused
 *   `rate_limited` (its bytes dropped at once); past the connection's share (a quarter of the
 *   budget, at least two packets) the connection is closed.
 *
 * A refused event still reaches its handler, as a `RefusedPayload` in place of its payload, so it
 * is acknowledged with a coded error and the connection stays up. A packet that cannot be answered
 * (no ack id, a handshake or ack packet over its limit) is a protocol violation: the connection is
 * closed, as socket.io-parser does for malformed packets.
 */
import { Decoder, Encoder, PacketType, protocol, type Packet } from 'socket.io-parser';
import type { ErrorCode } from '../protocol/errors.ts';
import { answeredLeaseIds, CONNECT_PACKET_CHARS, OTHER_PACKET_LIMIT, packetLimitOf } from './packet-limits.ts';

/** What reaches an event's handler in place of a refused payload. */
export class RefusedPayload {
  constructor(
    readonly kind: 'oversize' | 'binary' | 'busy',
    readonly code: ErrorCode,
    readonly message: string,
  ) {}
}

export interface PacketGuardOptions {
  /** Bytes of result outputs all connections may hold until answered. */
  inflightBytes: number;
  /** The largest WebSocket message (`maxMessageBytes`): what an announced output may be. */
  messageBytes: number;
  /** Bytes a second of outputs for leases not granted on their connection, all together. */
  ungrantedBytesPerSecond: number;
  now?: () => number;
  /** Bytes one connection may hold until answered (more closes it). */
  connectionInflightBytes: number;
  /** Told of each refusal (for the rate-limited log); `closed` when the connection is closed for it. */
  onRefused?: (kind: string, closed: boolean) => void;
}

/** What the guard and the namespace need of an engine.io connection: its WebSocket, to stop or cut it. */
export interface EngineConnection {
  transport: { name: string; socket?: { pause?(): void; terminate?(): void } };
}

export interface PacketGuard {
  /** The Server's `parser` option. */
  parser: { protocol: number; Encoder: typeof Encoder; Decoder: typeof Decoder };
  /**
   * Binds the decoder Socket.IO made last to `conn`: call it from an engine `connection` listener
   * registered after Socket.IO's own (which makes the connection's decoder), and so runs right
   * after it. Returns the connection's set of granted lease ids, which the namespace fills.
   */
  bind(conn: EngineConnection): Set<string>;
  /** The granted lease ids of `conn` (an empty set for a connection never bound). */
  grantedOf(conn: unknown): Set<string>;
  /** Frees the bytes held for `payload` (a handler calls it once the event is answered). */
  release(payload: unknown): void;
  /** Bytes held now by all connections. */
  heldBytes(): number;
}

/** Header of a text packet: type, attachments, namespace, ack id. */
const HEADER = /^([0-6])(?:(\d{1,9})-)?(\/[^,]{0,256},)?(\d{1,16})?/;
/** The event name at the start of an event's JSON. */
const EVENT_NAME = /^\[\s*("(?:[^"\\]|\\.){0,128}")/;

interface Header {
  type: number;
  attachments: number;
  nsp: string;
  id: number | undefined;
  event: string | undefined;
}

function readHeader(text: string): Header | undefined {
  const match = HEADER.exec(text);
  if (!match) return undefined;
  const nsp = match[3] ? match[3].slice(0, -1) : '/';
  const id = match[4] === undefined ? undefined : Number(match[4]);
  const name = EVENT_NAME.exec(text.slice(match[0].length, match[0].length + 140));
  let event: string | undefined;
  try {
    event = name ? (JSON.parse(name[1]!) as string) : undefined;
  } catch {
    event = undefined;
  }
  return { type: Number(match[1]), attachments: Number(match[2] ?? 0), nsp, id, event };
}

const byteLength = (data: unknown): number =>
  data instanceof ArrayBuffer ? data.byteLength : ArrayBuffer.isView(data) ? data.byteLength : 0;

/** The leaseIds a `result` or `results` text frame answers (small: its length was checked), or undefined. */
function leaseIdsOf(event: string | undefined, text: string, headerLength: number): string[] | undefined {
  try {
    return answeredLeaseIds(event, (JSON.parse(text.slice(headerLength)) as unknown[])[1]);
  } catch {
    return undefined;
  }
}

/**
 * The gate of outputs for ungranted leases: a budget of bytes on their way and a byte rate (a
 * bucket of one second's bytes that may go into debt by one output, refilled continuously).
 */
function createGate(options: PacketGuardOptions) {
  const now = options.now ?? Date.now;
  const budget = Math.max(options.messageBytes, Math.floor(options.inflightBytes / 4));
  const rate = options.ungrantedBytesPerSecond;
  let reserved = 0;
  let tokens = rate;
  let at = now();
  const refill = (): void => {
    const t = now();
    tokens = Math.min(rate, tokens + ((t - at) * rate) / 1000);
    at = t;
  };
  return {
    /** Reserves room for one output (true), or says the gate is shut (false). */
    admit(): boolean {
      refill();
      if (reserved + options.messageBytes > budget || tokens <= 0) return false;
      reserved += options.messageBytes;
      return true;
    },
    /** The output arrived (`bytes`), or will not (0): its reservation ends, its bytes are charged. */
    settle(bytes: number): void {
      reserved -= options.messageBytes;
      refill();
      tokens -= bytes;
    },
  };
}

/** Creates the parser and the shared in-flight budget of one Socket.IO server. */
export function createPacketGuard(options: PacketGuardOptions): PacketGuard {
  let held = 0;
  const reservations = new WeakMap<object, () => void>();
  const refused = (kind: string, closed: boolean): void => options.onRefused?.(kind, closed);
  const gate = createGate(options);
  const grantedByConn = new WeakMap<object, Set<string>>();
  let newest: GuardedDecoder | undefined;

  class GuardedDecoder extends Decoder {
    /** Attachments still to drop, of a packet refused from its header. */
    private dropping = 0;
    /** The binary packet being collected: its header and bytes so far. */
    private collecting: { header: Header; bytes: number; left: number; gated: boolean } | undefined;
    /** The connection's WebSocket (set by `bind`), and the leases granted on it. */
    private conn: EngineConnection | undefined;
    granted = new Set<string>();
    /** Bytes of this connection's results held until answered, by release function. */
    private readonly own = new Set<() => void>();
    private ownBytes = 0;
    /** Bytes to hand to the next decoded packet's payload. */
    private granting = 0;

    constructor() {
      super();
      newest = this;
      // Registered before Socket.IO's own listener: the payload is tagged before anyone sees it.
      this.on('decoded', (packet: Packet) => this.tag(packet));
    }

    bind(conn: EngineConnection): void {
      this.conn = conn;
    }

    override add(data: unknown): void {
      if (typeof data === 'string') {
        this.addText(data);
        return;
      }
      if (this.dropping > 0) {
        this.dropping -= 1;
        return;
      }
      const collecting = this.collecting;
      if (!collecting) {
        super.add(data); // throws: binary data when not reconstructing a packet
        return;
      }
      collecting.bytes += byteLength(data);
      collecting.left -= 1;
      if (collecting.left > 0) {
        super.add(data);
        return;
      }
      this.collecting = undefined;
      if (collecting.gated) gate.settle(collecting.bytes);
      if (this.ownBytes + collecting.bytes > options.connectionInflightBytes) {
        refused('inflight', true);
        throw new Error('results held past the connection\'s budget');
      }
      if (held + collecting.bytes > options.inflightBytes) {
        super.destroy();
        refused('busy', false);
        this.refuse(collecting.header, new RefusedPayload('busy', 'rate_limited', 'the coordinator holds too many results: send it again shortly'));
        return;
      }
      this.granting = collecting.bytes;
      try {
        super.add(data);
      } finally {
        this.granting = 0;
      }
    }

    override destroy(): void {
      super.destroy();
      // A connection closed in the middle of an attachment (a slow sender, closed by its heartbeat)
      // is cut at once: a graceful WebSocket close would read the rest of the output first.
      if (this.collecting) this.conn?.transport.socket?.terminate?.();
      if (this.collecting?.gated) gate.settle(0);
      this.collecting = undefined;
      for (const release of [...this.own]) release();
    }

    private addText(text: string): void {
      if (this.collecting || this.dropping > 0) throw new Error('got plaintext data when reconstructing a packet');
      const header = readHeader(text);
      if (!header) {
        super.add(text); // throws, naming the problem
        return;
      }
      if (header.type === PacketType.CONNECT) {
        if (text.length > CONNECT_PACKET_CHARS) {
          refused('oversize', true);
          throw new Error('handshake packet too large');
        }
        super.add(text);
        return;
      }
      if (header.type !== PacketType.EVENT && header.type !== PacketType.BINARY_EVENT) {
        // Volunteers are never asked for acknowledgements: an ack, and anything binary but an event, is small or refused.
        if (text.length > OTHER_PACKET_LIMIT.textChars || header.type === PacketType.BINARY_ACK) {
          refused('oversize', true);
          throw new Error('unexpected packet');
        }
        super.add(text);
        return;
      }
      const limit = packetLimitOf(header.event ?? '');
      const name = header.event ?? 'event';
      if (text.length > limit.textChars) {
        this.refuseOrClose(header, new RefusedPayload('oversize', 'payload_too_large', `${name}: packet of ${text.length} characters exceeds its limit of ${limit.textChars}`));
        return;
      }
      if (header.attachments > limit.attachments) {
        const expected = limit.attachments === 0 ? 'no binary data' : `at most ${limit.attachments} binary value`;
        this.refuseOrClose(header, new RefusedPayload('binary', 'bad_request', `${name}: expected ${expected}, got ${header.attachments}`));
        return;
      }
      if (header.attachments === 0) {
        super.add(text);
        return;
      }
      // Outputs for leases granted on this connection pass at once; any other through the gate.
      const leaseIds = leaseIdsOf(header.event, text, HEADER.exec(text)![0].length);
      const gated = leaseIds === undefined || !leaseIds.every((id) => this.granted.has(id));
      if (gated && !gate.admit()) {
        refused('gate', true);
        this.dropping = header.attachments;
        const socket = this.conn?.transport.socket;
        if (socket?.terminate) socket.terminate();
        else throw new Error('outputs for leases not granted on this connection come faster than they are taken');
        return;
      }
      try {
        super.add(text);
      } catch (error) {
        // A malformed packet never gets its output: the room it took at the gate is given back.
        if (gated) gate.settle(0);
        throw error;
      }
      this.collecting = { header, bytes: 0, left: header.attachments, gated };
    }

    /** Refuses an event that can be answered; closes the connection otherwise. */
    private refuseOrClose(header: Header, refusal: RefusedPayload): void {
      if (header.id === undefined || header.event === undefined) {
        refused(refusal.kind, true);
        throw new Error(refusal.message);
      }
      refused(refusal.kind, false);
      this.dropping = header.attachments;
      this.refuse(header, refusal);
    }

    private refuse(header: Header, refusal: RefusedPayload): void {
      this.emitReserved('decoded', { type: PacketType.EVENT, nsp: header.nsp, id: header.id, data: [header.event, refusal] });
    }

    private tag(packet: Packet): void {
      const bytes = this.granting;
      const payload: unknown = Array.isArray(packet.data) ? packet.data[1] : undefined;
      if (bytes === 0 || typeof payload !== 'object' || payload === null) return;
      held += bytes;
      this.ownBytes += bytes;
      let done = false;
      const release = (): void => {
        if (done) return;
        done = true;
        held -= bytes;
        this.ownBytes -= bytes;
        this.own.delete(release);
      };
      this.own.add(release);
      reservations.set(payload, release);
    }
  }

  return {
    parser: { protocol, Encoder, Decoder: GuardedDecoder },
    bind(conn) {
      const decoder = newest;
      newest = undefined;
      if (!decoder) return new Set<string>();
      decoder.bind(conn);
      grantedByConn.set(conn, decoder.granted);
      return decoder.granted;
    },
    grantedOf: (conn) => (typeof conn === 'object' && conn !== null ? grantedByConn.get(conn) : undefined) ?? new Set<string>(),
    release(payload) {
      if (typeof payload === 'object' && payload !== null) reservations.get(payload)?.();
    },
    heldBytes: () => held,
  };
}

/**
 * The typed `/volunteer` Socket.IO client, as a `CoordinatorLink` for the loop. WebSocket only
 * (no long-polling, so no CORS and no sticky sessions behind a load balancer), reconnecting on its
 * own; every event waits for its acknowledgement with a timeout. Given several coordinator nodes,
 * each reconnection attempt goes to the next one, so a volunteer whose node died moves to a live
 * one (and adopts its leases there).
 */
import { io, type Socket } from 'socket.io-client';
import type {
  LeaseReply,
  MAX_HOLDING,
  ResultsReply,
  VOLUNTEER_NAMESPACE,
  VolunteerAuth,
  VolunteerClientEvents,
  VolunteerServerEvents,
} from '../../../server/src/protocol/events.ts';
import type { CoordinatorLink } from './volunteer-loop.ts';
import { createResultBatches } from './result-batches.ts';

// Checked against the contract's constants without importing the contract (and TypeBox) at run time.
const NAMESPACE: typeof VOLUNTEER_NAMESPACE = '/volunteer';
const HOLDING_LIMIT: typeof MAX_HOLDING = 256;

export type VolunteerSocket = Socket<VolunteerServerEvents, VolunteerClientEvents>;

export interface VolunteerConnection {
  socket: VolunteerSocket;
  link: CoordinatorLink;
  /** Resolves on the first connection; rejects when the coordinator refuses the handshake. */
  connected: Promise<void>;
  /** The node connected to now, or tried next (one of `url`'s). */
  currentUrl(): string;
  close(): void;
}

export interface ConnectOptions {
  /** The coordinator's origin (or any URL on it), or the origins of several nodes of one cluster. */
  url: string | readonly string[];
  auth: VolunteerAuth;
  /** How long to wait for each acknowledgement (default 10 s). */
  ackTimeoutMs?: number;
  /** Node only: the local address to connect from (a machine with several). */
  localAddress?: string;
}

/** Opens the volunteer connection. */
export function connectVolunteer(options: ConnectOptions): VolunteerConnection {
  const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
  const nodes = coordinatorUrls(options.url);
  let current = 0;
  // The last connection's socket id, named on reconnecting (`resumes`): a coordinator that has not
  // noticed the drop yet hands its leases to the new connection instead of keeping them for it.
  let previous: string | undefined;
  // What the loop still has, named on reconnecting so that the coordinator adopts nothing else.
  // Not on the first connection: a durable outbox a previous page left may not be listed yet.
  // Too many to name: not named (the coordinator adopts all, as without it).
  let holding: (() => readonly string[]) | undefined;
  const authFor = (): VolunteerAuth => {
    if (previous === undefined) return options.auth;
    const held = holding ? [...new Set(holding())] : undefined;
    return { ...options.auth, resumes: previous, ...(held && held.length <= HOLDING_LIMIT ? { holding: held } : {}) };
  };
  const socket: VolunteerSocket = io(new URL(NAMESPACE, nodes[current]).href, {
    auth: (send) => send(authFor()),
    transports: ['websocket'],
    reconnection: true,
    // With several nodes the first retry goes to another node at once; a lone node is given time.
    reconnectionDelay: nodes.length > 1 ? 100 : 500,
    reconnectionDelayMax: 5000,
    // engine.io-client hands it to ws (Node); browsers ignore it.
    ...(options.localAddress ? ({ localAddress: options.localAddress } as object) : {}),
  });
  if (nodes.length > 1) {
    // The manager opens each attempt on `uri`: the next node, round the list.
    socket.io.on('reconnect_attempt', () => {
      current = (current + 1) % nodes.length;
      (socket.io as unknown as { uri: string }).uri = new URL(NAMESPACE, nodes[current]).href;
    });
    // A first connection that fails goes on to the next node too (the manager retries it).
    socket.on('connect_error', () => undefined);
  }

  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.on('connect_error', (error) => {
      // Inactive after an error means the server refused us (middleware); it will not retry.
      if (!socket.active) reject(error);
    });
  });
  connected.catch(() => {});

  const results = createResultBatches({
    sendOne: (request) => socket.timeout(ackTimeoutMs).emitWithAck('result', { ...request, output: exact(request.output) }),
    sendMany: (requests): Promise<ResultsReply> =>
      socket.timeout(ackTimeoutMs).emitWithAck('results', { results: requests.map((request) => ({ ...request, output: exact(request.output) })) }),
  });
  // A new connection may reach another coordinator: one result per event until it says otherwise.
  socket.on('connect', () => {
    previous = socket.id;
    results.configure(0, 0);
  });

  const link: CoordinatorLink = {
    connected: () => socket.connected,
    lease: async (request) => {
      const reply: LeaseReply = await socket.timeout(ackTimeoutMs).emitWithAck('lease', request);
      if (!('leases' in reply)) return reply;
      const first = reply.leases[0];
      if (reply.resultsBatch !== undefined && first) results.configure(reply.resultsBatch, first.limits.maxOutputBytes);
      return { ...reply, leases: reply.leases.map((lease) => ({ ...lease, input: asBytes(lease.input) })) };
    },
    result: (request) => results.send(request),
    fail: (request) => socket.timeout(ackTimeoutMs).emitWithAck('fail', request),
    onConnect(listener) {
      socket.on('connect', listener);
      return () => void socket.off('connect', listener);
    },
    onRevoke(listener) {
      socket.on('revoke', listener);
      return () => void socket.off('revoke', listener);
    },
    onAdopted(listener) {
      socket.on('adopted', listener);
      return () => void socket.off('adopted', listener);
    },
    setHolding(provider) {
      holding = provider;
    },
    onWork(listener) {
      // The payload is empty by contract; nothing of it reaches the loop.
      const handler = (): void => listener();
      socket.on('work', handler);
      return () => void socket.off('work', handler);
    },
    // A deliberate close: the coordinator releases this session's leases at once, uncounted.
    disconnect: () => void socket.disconnect(),
    connect: () => void socket.connect(),
  };

  return { socket, link, connected, currentUrl: () => nodes[current]!, close: () => void socket.disconnect() };
}

/** The nodes to try, in order: at least one, each an http(s) URL. */
export function coordinatorUrls(url: string | readonly string[]): string[] {
  const list = typeof url === 'string' ? [url] : [...url];
  if (list.length === 0) throw new Error('no coordinator URL given');
  for (const each of list) {
    const protocol = new URL(each).protocol;
    if (protocol !== 'http:' && protocol !== 'https:') throw new Error(`coordinator URL must be http(s): ${each}`);
  }
  return list;
}

/** Socket.IO sends a view's whole underlying buffer on some paths: send exactly the output. */
function exact(output: Uint8Array): Uint8Array {
  return output.byteOffset === 0 && output.byteLength === output.buffer.byteLength ? output : output.slice();
}

/**
 * Binary as it arrived: Socket.IO hands browsers an `ArrayBuffer` and Node a `Buffer`, whatever
 * the sender sent. The rest of the runtime sees a plain `Uint8Array`.
 */
export function asBytes(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

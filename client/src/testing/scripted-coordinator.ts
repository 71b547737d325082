/**
 * A coordinator whose answers a test scripts, on a real HTTP server and a real Socket.IO
 * `/volunteer` namespace (127.0.0.1, port 0). It lets the client's tests provoke what the real
 * scheduler does only rarely: revokes, stale and failing acknowledgements, refused handshakes.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import type {
  AckReply,
  FailRequest,
  Lease,
  LeaseRequest,
  ResultRequest,
  VolunteerAuth,
  VolunteerClientEvents,
  VolunteerServerEvents,
} from '../../../server/src/protocol/events.ts';
import { sha256Hex } from '../runtime/sha256.ts';

type VolunteerSide = Socket<VolunteerClientEvents, VolunteerServerEvents>;

export interface ScriptedCoordinator {
  url: string;
  /** Serves `bytes` at `/modules/<hash>.wasm`; returns the hash and URL. */
  addModule(bytes: Uint8Array, servedBytes?: Uint8Array): Promise<{ hash: string; url: string }>;
  /** Leases handed out, in order, to the next `lease` requests (up to `slots` each). */
  offer(...leases: Lease[]): void;
  leaseRequests: LeaseRequest[];
  results: ResultRequest[];
  fails: FailRequest[];
  auths: VolunteerAuth[];
  moduleFetches: number;
  /** Decides the acknowledgement of each result/fail (default `{ ok: true }`); `undefined` never acks. */
  ackWith: (event: 'result' | 'fail', payload: ResultRequest | FailRequest) => AckReply | undefined;
  /** Refuses handshakes whose siteKey is not this (default: accept all). */
  siteKey: string | undefined;
  revoke(leaseIds: string[]): void;
  sockets(): VolunteerSide[];
  close(): Promise<void>;
}

/** `handle` may answer other HTTP requests first (e.g. static files); it returns whether it did. */
export async function startScriptedCoordinator(
  options: { handle?(req: IncomingMessage, res: ServerResponse): boolean } = {},
): Promise<ScriptedCoordinator> {
  const modules = new Map<string, Uint8Array>();
  const pending: Lease[] = [];
  const http: HttpServer = createServer((req, res) => {
    if (options.handle?.(req, res)) return;
    const bytes = modules.get(req.url ?? '');
    if (!bytes) return void res.writeHead(404).end();
    coordinator.moduleFetches += 1;
    res.writeHead(200, { 'content-type': 'application/wasm' }).end(bytes);
  });
  const io = new Server(http, { transports: ['websocket'] });
  const namespace = io.of('/volunteer');

  const coordinator: ScriptedCoordinator = {
    url: '',
    async addModule(bytes, servedBytes = bytes) {
      const hash = await sha256Hex(bytes);
      const url = `/modules/${hash}.wasm`;
      modules.set(url, servedBytes);
      return { hash, url };
    },
    offer: (...leases) => void pending.push(...leases),
    leaseRequests: [],
    results: [],
    fails: [],
    auths: [],
    moduleFetches: 0,
    ackWith: () => ({ ok: true }),
    siteKey: undefined,
    revoke: (leaseIds) => void namespace.emit('revoke', { leaseIds }),
    sockets: () => [...namespace.sockets.values()],
    async close() {
      io.close();
      await new Promise((resolve) => http.close(resolve));
    },
  };

  namespace.use((socket, next) => {
    const auth = socket.handshake.auth as VolunteerAuth;
    if (coordinator.siteKey !== undefined && auth.siteKey !== coordinator.siteKey) return next(new Error('unknown site'));
    coordinator.auths.push(auth);
    next();
  });
  namespace.on('connection', (socket: VolunteerSide) => {
    socket.on('lease', (request, ack) => {
      coordinator.leaseRequests.push(request);
      ack({ leases: pending.splice(0, request.slots) });
    });
    socket.on('result', (request, ack) => {
      coordinator.results.push(request);
      const reply = coordinator.ackWith('result', request);
      if (reply) ack(reply);
    });
    socket.on('fail', (request, ack) => {
      coordinator.fails.push(request);
      const reply = coordinator.ackWith('fail', request);
      if (reply) ack(reply);
    });
  });

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  coordinator.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return coordinator;
}

/** Polls `check` until it holds (or fails the test after `timeoutMs`). */
export async function eventually(check: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

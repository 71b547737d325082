/**
 * The socket attacks of issue 9, run in their own process so that their CPU and buffers are not
 * the measured coordinator's (`node --import tsx e2e/support/flood-attacker.ts '<json>'`):
 * - `leases`: one anonymous socket sends `lease { slots: 128, workers: 64 }` `count` times;
 * - `results`: `sockets` connections (spread over the loopback `addresses`) each send one result
 *   of `bytes` bytes for a made-up lease;
 * - `silent`: one socket sends `count` events without an acknowledgement callback.
 * With `repeat`, a `leases` or `silent` attack is that many floods back to back, each from a
 * socket of its own (opened beforehand) on the next of `addresses`.
 * With `sink`, the same attack goes to a Socket.IO server in this process that stops reading each
 * connection once it is open: the control, where the attacker does all its own work and the
 * coordinator none. Prints one JSON line: what was sent, answered, refused and how the sockets ended.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';

interface Attack {
  url: string;
  siteKey: string;
  kind: 'leases' | 'results' | 'silent';
  count?: number;
  sockets?: number;
  bytes?: number;
  addresses?: string[];
  /**
   * How long after its first packet the attacker stops waiting for answers (a result's or a lease
   * request's) or, for `silent`, for its connection to be closed (ms). The controls set it, so that
   * an attack on a sink that never answers lasts about as long as the real one.
   */
  giveUpMs?: number;
  /** Attack a sink of this process instead of `url` (the control). */
  sink?: boolean;
  /** `leases` and `silent`: this many floods back to back, each from its own socket on the next address (default 1). */
  repeat?: number;
}

const attack = JSON.parse(process.argv[2] ?? '{}') as Attack;
let serial = 0;
/** When the attacker stops waiting: `giveUpMs` after its first packet, once it is known. */
let deadline: number | undefined;
/** How long to wait from now: until the deadline when there is one, else `fallbackMs`. */
const waitMs = (fallbackMs: number): number => (deadline === undefined ? fallbackMs : Math.max(1, deadline - Date.now()));

function open(localAddress: string): Socket {
  return io(`${attack.url}/volunteer`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { siteKey: attack.siteKey, volunteerId: `attacker-${process.pid}-${++serial}`, agent: 'node' },
    ...({ localAddress } as object),
  });
}

const connected = (socket: Socket): Promise<true | string> =>
  new Promise((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('connect_error', (error) => resolve(`refused at handshake: ${error.message}`));
  });

type Reply = { error?: { code: string } } | Record<string, unknown>;
const codeOf = (reply: Reply): string => ('error' in reply && reply.error ? (reply.error as { code: string }).code : 'ok');

async function main(): Promise<Record<string, unknown>> {
  if (attack.sink) attack.url = await startSink();
  const addresses = attack.addresses ?? ['127.0.0.1'];
  connecting();
  if (attack.kind === 'results') {
    const sockets = Array.from({ length: attack.sockets ?? 400 }, (_, i) => open(addresses[i % addresses.length]!));
    const up = await Promise.all(sockets.map(connected));
    attacking();
    const output = Buffer.alloc(attack.bytes ?? 4 * 1024 * 1024, 7);
    const answers = await Promise.all(
      sockets.map((socket, i) =>
        up[i] === true
          ? (socket.timeout(waitMs(8_000)).emitWithAck('result', { leaseId: `made-up-${i}`, output, cpuMs: 1 }) as Promise<Reply>).then(codeOf, (error: Error) => (socket.connected ? error.message : 'closed'))
          : Promise.resolve(up[i] as string),
      ),
    );
    for (const socket of sockets) socket.disconnect();
    return { connected: up.filter((outcome) => outcome === true).length, answers: tally(answers) };
  }
  // `repeat` floods back to back, each from a socket of its own on the next address, as that many
  // attackers one after another: the attack lasts long enough to be measured steadily.
  const repeat = Math.max(1, Math.floor(attack.repeat ?? 1));
  const sockets = Array.from({ length: repeat }, (_, i) => open(addresses[i % addresses.length]!));
  // Each socket's close, heard from the start: one closed while it waits for its turn is skipped.
  const closings = sockets.map((socket) => new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason))));
  const up = await Promise.all(sockets.map(connected));
  if (up.some((outcome) => outcome !== true)) return { connected: up.filter((outcome) => outcome === true).length, refused: up.find((outcome) => outcome !== true) };
  attacking();
  const started = Date.now();
  const count = attack.count ?? 10_000;
  const answers: string[] = [];
  const endings: string[] = [];
  let skipped = 0;
  for (const [n, socket] of sockets.entries()) {
    // A control (`giveUpMs`) shares its time among its floods alike.
    if (attack.giveUpMs !== undefined) deadline = started + ((n + 1) * attack.giveUpMs) / repeat;
    const closed = closings[n]!;
    if (!socket.connected) {
      skipped++;
      endings.push(`closed before its turn: ${await closed}`);
      continue;
    }
    if (attack.kind === 'silent') {
      for (let i = 0; i < count; i++) socket.emit('fail', { leaseId: `made-up-${i}`, kind: 'trap', message: 'nothing' });
      endings.push(await Promise.race([closed, new Promise<string>((resolve) => setTimeout(() => resolve('still open'), waitMs(3000)))]));
    } else {
      const settled: Promise<string>[] = [];
      for (let i = 0; i < count; i++) {
        settled.push(
          new Promise((resolve) => {
            socket.timeout(waitMs(10_000)).emit('lease', { slots: 128, workers: 64 }, (error: Error | null, reply: Reply) => resolve(error ? 'unanswered' : codeOf(reply)));
          }),
        );
      }
      answers.push(...(await Promise.all(settled)));
      endings.push(socket.connected ? 'still open' : await closed);
    }
    socket.disconnect();
  }
  const ended = repeat === 1 ? endings[0] : tally(endings);
  const sent = count * (repeat - skipped);
  return attack.kind === 'silent' ? { connected: repeat, sent, skipped, ended } : { connected: repeat, sent, skipped, answers: tally(answers), ended };
}

/** A `/volunteer` namespace that admits anyone and never reads past the handshake. */
async function startSink(): Promise<string> {
  const http = createServer();
  const server = new Server(http, { transports: ['websocket'], maxHttpBufferSize: 8 * 1024 * 1024 });
  server.of('/volunteer').on('connection', (socket) => {
    (socket.conn.transport as unknown as { socket?: { pause?(): void } }).socket?.pause?.();
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

/** Tells the measuring test that the attacker's sockets are about to connect. */
function connecting(): void {
  process.stdout.write('{"phase":"connecting"}\n');
}

/** Tells the measuring test that the attack's first packet is about to go. */
function attacking(): void {
  if (attack.giveUpMs !== undefined) deadline = Date.now() + attack.giveUpMs;
  process.stdout.write('{"phase":"attacking"}\n');
}

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

main().then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);

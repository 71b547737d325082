/**
 * A child process of the throughput benchmark: `count` raw Socket.IO volunteers (no wasm, no
 * runtime loop) that answer each lease at once with its computed output (the primes count of a
 * tiny range). Driven by its parent over IPC: `start`, `sample` (results acknowledged so far and
 * lease round trips since the last sample), `stop`.
 *
 * `batch` volunteers send one `results` event per grant instead of one `result` per lease, and ask
 * for `slots` leases at a time; both still wait for every acknowledgement before asking again.
 */
import { io, type Socket } from 'socket.io-client';
import type { Lease, LeaseReply, VolunteerClientEvents, VolunteerServerEvents } from '../server/src/protocol/events.ts';
import { decodePrimesInput } from '../wasm/tasks/primes/codec.ts';

export interface VolunteersConfig {
  /** Coordinators: volunteer i connects to `urls[i % urls.length]` (the nodes of a cluster). */
  urls: string[];
  siteKey: string;
  count: number;
  /** Distinguishes this process's volunteer ids from the other's. */
  prefix: string;
  slots: number;
  batch: boolean;
}

export type ParentMessage = { type: 'start' } | { type: 'sample' } | { type: 'stop' };
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'sample'; acked: number; refused: number; rttsMs: number[] }
  | { type: 'stopped' };

type RawSocket = Socket<VolunteerServerEvents, VolunteerClientEvents & { results(payload: unknown, ack: (reply: unknown) => void): void }>;

const config = JSON.parse(process.env['THROUGHPUT_VOLUNTEERS'] ?? '{}') as VolunteersConfig;
let acked = 0;
let refused = 0;
let rtts: number[] = [];
let running = false;

function primesIn(lo: number, hi: number): number {
  let count = 0;
  for (let n = Math.max(lo, 2); n < hi; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (prime) count++;
  }
  return count;
}

function outputOf(lease: Lease): Uint8Array {
  const input = lease.input instanceof Uint8Array ? lease.input : new Uint8Array(lease.input as ArrayBuffer);
  const { lo, hi } = decodePrimesInput(input);
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, primesIn(lo, hi), true);
  return out;
}

const isOk = (reply: unknown): boolean => typeof reply === 'object' && reply !== null && 'ok' in reply;

async function volunteer(socket: RawSocket): Promise<void> {
  let woken: (() => void) | undefined;
  socket.on('work', () => woken?.());
  while (running) {
    const asked = performance.now();
    const reply: LeaseReply = await socket.timeout(30_000).emitWithAck('lease', { slots: config.slots, workers: Math.max(1, config.slots >> 1) });
    rtts.push(performance.now() - asked);
    if (!('leases' in reply) || reply.leases.length === 0) {
      const waitMs = 'retryAfterMs' in reply && reply.retryAfterMs ? reply.retryAfterMs : 50;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        woken = () => (clearTimeout(timer), resolve());
      });
      woken = undefined;
      continue;
    }
    const answers = reply.leases.map((lease) => ({ leaseId: lease.leaseId, output: outputOf(lease), cpuMs: 0 }));
    if (config.batch) {
      const outcome = (await socket.timeout(30_000).emitWithAck('results', { results: answers })) as { outcomes?: unknown[] };
      for (const one of outcome.outcomes ?? []) if (isOk(one)) acked++; else refused++;
    } else {
      const replies = await Promise.all(answers.map((answer) => socket.timeout(30_000).emitWithAck('result', answer)));
      for (const one of replies) if (isOk(one)) acked++; else refused++;
    }
  }
}

const sockets: RawSocket[] = [];
const loops: Promise<void>[] = [];
for (let i = 0; i < config.count; i++) {
  const socket: RawSocket = io(`${config.urls[i % config.urls.length]}/volunteer`, {
    auth: { siteKey: config.siteKey, volunteerId: `${config.prefix}-volunteer-${i}`, agent: 'node' },
    transports: ['websocket'],
    reconnection: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  sockets.push(socket);
}
process.send!({ type: 'ready' } satisfies ChildMessage);

process.on('message', (message: ParentMessage) => {
  if (message.type === 'start') {
    running = true;
    for (const socket of sockets) loops.push(volunteer(socket).catch((error: unknown) => console.error('volunteer failed:', error)));
  } else if (message.type === 'sample') {
    process.send!({ type: 'sample', acked, refused, rttsMs: rtts } satisfies ChildMessage);
    rtts = [];
  } else {
    running = false;
    void Promise.all(loops).then(() => {
      for (const socket of sockets) socket.disconnect();
      process.send!({ type: 'stopped' } satisfies ChildMessage, () => process.exit(0));
    });
  }
});

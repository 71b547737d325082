/**
 * One client process of the idle-connections bench (started by bench/connections.ts with an IPC
 * channel): opens its batches of raw Socket.IO volunteer connections — the real handshake `auth`,
 * websocket only, each from its batch's loopback source address — and keeps them idle; the
 * heartbeat (the coordinator's ping, this side's pong) runs inside socket.io-client. Reports its
 * counts to the parent every second; opens no more after `enough`; exits when the parent says
 * `stop` or goes away.
 */
import { io, type Socket } from 'socket.io-client';
import type { Batch } from './connections-plan.ts';

export interface ClientPlan {
  urls: string[];
  siteKeys: string[];
  coordinators: number;
  batches: Batch[];
  /** Handshakes in flight at once. */
  concurrency: number;
}

export interface ClientProgress {
  type: 'progress';
  planned: number;
  connected: number;
  failed: number;
  /** Connections that were up and later closed (a missed heartbeat, a refused socket). */
  dropped: number;
  /** The first few distinct error messages. */
  errors: string[];
  rssBytes: number;
  done: boolean;
}

const plan = JSON.parse(process.argv[2] ?? '') as ClientPlan;
const sockets: Socket[] = [];
const errors = new Set<string>();
let connected = 0;
let failed = 0;
let dropped = 0;
let done = false;
const planned = plan.batches.reduce((sum, batch) => sum + batch.count, 0);

function note(message: string): void {
  if (errors.size < 5) errors.add(message);
}

/** Opens one volunteer connection; resolves once it is connected or refused. */
function open(batch: Batch, n: number): Promise<void> {
  const index = batch.first + n * plan.coordinators;
  return new Promise((resolve) => {
    const socket = io(`${plan.urls[batch.coordinator]}/volunteer`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: 120_000,
      localAddress: batch.localAddress,
      auth: { siteKey: plan.siteKeys[batch.coordinator], volunteerId: `idle-volunteer-${index}`, agent: 'node' },
    } as Parameters<typeof io>[1]);
    socket.once('connect', () => {
      connected++;
      sockets.push(socket);
      socket.once('disconnect', (reason) => {
        if (stopping) return;
        dropped++;
        note(`disconnect: ${reason}`);
      });
      resolve();
    });
    socket.once('connect_error', (error) => {
      failed++;
      note(`connect_error: ${error.message}`);
      socket.close();
      resolve();
    });
  });
}

let stopping = false;
/** Set when the parent's time for connecting ran out: open no more, keep those that are up. */
let enough = false;

async function openAll(): Promise<void> {
  // Round-robin over the batches, so every coordinator admits volunteers at once (a coordinator
  // admits one at a time on its single thread).
  const longest = Math.max(...plan.batches.map((batch) => batch.count));
  const jobs = Array.from({ length: longest }, (_, n) => plan.batches.filter((batch) => n < batch.count).map((batch) => () => open(batch, n))).flat();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (!enough && next < jobs.length) await jobs[next++]!();
  };
  await Promise.all(Array.from({ length: plan.concurrency }, lane));
  done = true;
}

function report(): void {
  const progress: ClientProgress = {
    type: 'progress',
    planned,
    connected,
    failed,
    dropped,
    errors: [...errors],
    rssBytes: process.memoryUsage.rss(),
    done,
  };
  process.send?.(progress);
}

const timer = setInterval(report, 1000);
process.on('message', (message: unknown) => {
  if (message === 'enough') enough = true;
  if (message === 'stop') {
    stopping = true;
    clearInterval(timer);
    for (const socket of sockets) socket.close();
    setTimeout(() => process.exit(0), 200);
  }
});
process.on('disconnect', () => process.exit(0));
openAll().then(report, (error: unknown) => {
  note(String(error));
  report();
});

/**
 * Simulated volunteers for the cluster test: real Socket.IO clients of `/volunteer` (the runtime's
 * `connectVolunteer`, with its list of nodes and failover), computing a cheap function in-process
 * instead of running wasm, so hundreds fit on two cores. Each one checks the scheduler's promises
 * from its side: it never holds two replicas of one task at once, and never has two results for
 * one task accepted.
 */
import { connectVolunteer, type VolunteerConnection } from '../../client/src/runtime/socket.ts';
import { newVolunteerId } from '../../client/src/runtime/ids.ts';
import type { Lease, LeaseReply } from '../../server/src/protocol/events.ts';

/** The task: a 4-byte u32 LE input `x` gives the u32 LE of a 32-bit mix of `x`. */
export function simTask(x: number): number {
  let h = Math.imul(x ^ 0x9e3779b9, 0x85ebca6b) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  return Math.imul(h, 0xc2b2ae35) >>> 0;
}

export const u32 = (value: number): Uint8Array => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return bytes;
};

/** Acknowledgement errors worth sending the same result again for (the runtime's `reports.ts` too). */
const RETRYABLE: ReadonlySet<string> = new Set(['internal', 'rate_limited']);

/** How long to wait before sending a result again: a refusal's `retryAfterMs`, else 200 ms. */
function retryDelayMs(reply: unknown): number {
  const wait = (reply as { error?: { retryAfterMs?: unknown } } | undefined)?.error?.retryAfterMs;
  return typeof wait === 'number' && wait > 0 ? Math.max(10, wait) : 200;
}

const readU32 = (bytes: Uint8Array): number => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);

export interface SimOptions {
  urls: readonly string[];
  siteKey: string;
  /** 0: honest; otherwise every output is `offset` higher (a liar; two liars never agree). */
  lieOffset?: number;
  /** Leases asked at once (default 2). */
  slots?: number;
  /** false: a hoarder that holds its leases and never answers. */
  answers?: boolean;
  /** The loopback address to connect from (volunteers of a real grid come from many). */
  localAddress?: string;
}

export interface SimVolunteer {
  readonly volunteerId: string;
  readonly liar: boolean;
  /** `dropped`: results given up on (never acknowledged, or still refused at the lease's deadline). */
  readonly stats: { leased: number; accepted: number; stale: number; revoked: number; errors: number; dropped: number };
  /** Broken promises seen from this volunteer's side (empty when all is well). */
  readonly violations: string[];
  /** Lease ids held now. */
  held(): number;
  /** When each revoke arrived, by lease id (epoch ms). */
  readonly revokedAt: Map<string, number>;
  connected(): boolean;
  currentUrl(): string;
  stop(): void;
}

export function startSimVolunteer(options: SimOptions): SimVolunteer {
  const volunteerId = newVolunteerId();
  const offset = options.lieOffset ?? 0;
  const slots = options.slots ?? 2;
  const answers = options.answers ?? true;
  const connection: VolunteerConnection = connectVolunteer({
    url: options.urls,
    auth: { siteKey: options.siteKey, volunteerId, agent: 'node' },
    ackTimeoutMs: 30_000,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  const { link } = connection;
  const stats = { leased: 0, accepted: 0, stale: 0, revoked: 0, errors: 0, dropped: 0 };
  const violations: string[] = [];
  /** taskId by lease id, for the leases held now. */
  const heldLeases = new Map<string, string>();
  const acceptedTasks = new Set<string>();
  const revokedAt = new Map<string, number>();
  let stopped = false;
  let pumping = false;
  let again = false;

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  function take(lease: Lease): void {
    stats.leased++;
    for (const taskId of heldLeases.values()) {
      if (taskId === lease.taskId) violations.push(`${volunteerId} holds two replicas of task ${lease.taskId}`);
    }
    heldLeases.set(lease.leaseId, lease.taskId);
  }

  async function answer(lease: Lease): Promise<void> {
    if (!heldLeases.has(lease.leaseId)) return;
    const output = u32(simTask(readU32(lease.input)) + offset);
    // Sent again, as the runtime's reports outbox does, until the lease's deadline: a result whose
    // acknowledgement was lost with a dead node (the node the volunteer moved to adopted the lease
    // and answers it), and one refused `rate_limited` or `internal` (simulated volunteers share a
    // few loopback addresses and their per-address event buckets, which can run dry while
    // volunteers move after the kill). Giving up left the lease live until its deadline: the task
    // stalled.
    let reply: Awaited<ReturnType<typeof link.result>> | undefined;
    for (let attempt = 0; !stopped && heldLeases.has(lease.leaseId) && (attempt < 5 || Date.now() < lease.deadline); attempt++) {
      reply = await link.result({ leaseId: lease.leaseId, output, cpuMs: 1 }).catch(() => undefined);
      if (reply && !('error' in reply && RETRYABLE.has(reply.error.code))) break;
      await sleep(retryDelayMs(reply));
    }
    const stillHeld = heldLeases.delete(lease.leaseId);
    if (!reply || ('error' in reply && RETRYABLE.has(reply.error.code))) {
      // Revoked meanwhile, or stopped: nobody waits for this answer any more.
      if (stillHeld && !stopped) stats.dropped++;
    } else if ('ok' in reply) {
      stats.accepted++;
      if (acceptedTasks.has(lease.taskId)) violations.push(`${volunteerId} had two results accepted for task ${lease.taskId}`);
      acceptedTasks.add(lease.taskId);
    } else if (reply.error.code === 'stale_lease') {
      stats.stale++;
    } else {
      stats.errors++;
    }
  }

  /** Asks for work until there is none; then waits for `work`, a reconnection, or a cool-down's end. */
  async function pump(): Promise<void> {
    if (pumping) {
      again = true;
      return;
    }
    pumping = true;
    try {
      do {
        again = false;
        while (!stopped) {
          if (!answers && heldLeases.size >= slots) return;
          let reply: LeaseReply | undefined;
          try {
            reply = await link.lease({ slots, workers: slots });
          } catch {
            stats.errors++;
            break;
          }
          if (!('leases' in reply)) {
            stats.errors++;
            await sleep(200);
            continue;
          }
          for (const lease of reply.leases) take(lease);
          if (reply.leases.length === 0) {
            if (reply.retryAfterMs) {
              await sleep(reply.retryAfterMs);
              continue;
            }
            break;
          }
          if (answers) for (const lease of reply.leases) await answer(lease);
        }
      } while (again && !stopped);
    } finally {
      pumping = false;
    }
  }

  link.onRevoke(({ leaseIds }) => {
    const at = Date.now();
    for (const leaseId of leaseIds) {
      if (heldLeases.delete(leaseId)) stats.revoked++;
      revokedAt.set(leaseId, at);
    }
    if (!answers) void pump();
  });
  link.onWork(() => void pump());
  link.onConnect(() => void pump());

  return {
    volunteerId,
    liar: offset !== 0,
    stats,
    violations,
    revokedAt,
    held: () => heldLeases.size,
    connected: () => link.connected(),
    currentUrl: () => connection.currentUrl(),
    stop() {
      stopped = true;
      connection.close();
    },
  };
}

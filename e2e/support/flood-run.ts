/**
 * A socket attack beside an honest volunteer, free of any test runner (the chaos test
 * e2e/chaos/flood.test.ts and the benchmark use it). The coordinator runs in the caller's process
 * with the socket's production limits; the honest volunteer, a raw Socket.IO client leasing tiny
 * primes tasks and answering each at once, runs there too; each attack (flood-attacker.ts) runs in
 * its own process at the lowest priority. The honest throughput during an attack is compared with
 * its throughput just before it and, from a second after it ended, just after it.
 *
 * A control run sends the same attack to a sink in the attacker's own process that never reads
 * (`sink: true`): what the attacker's process costs the honest side on a shared machine, where it
 * takes memory bandwidth and kernel time from the same cores, with nothing for the coordinator to do.
 */
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { io, type Socket } from 'socket.io-client';
import { parseEnv, type Limits } from '../../server/src/config.ts';
import type { Lease, LeaseReply, RateLimitedBody } from '../../server/src/protocol/events.ts';
import { startTestCoordinator, type TestCoordinator } from '../../server/src/http/testing.ts';
import { countPrimesReference } from '../../wasm/tasks/primes/reference.ts';
import { chaosApi, primeInputs, primeRanges, type ChaosApi } from './chaos-jobs.ts';

export const MiB = 1024 * 1024;
const ADMIN_KEY = 'test-admin-key-0123456789abcdef';
/**
 * Tasks of each of the honest volunteer's jobs (a JSON job body holds at most 100,000 inputs): it
 * answers about 1,500 a second, so the chaos test needs one job, the benchmark's rounds
 * (about five minutes of them) seven.
 */
const TASKS_PER_JOB = 100_000;

/** The socket's production limits (the defaults of config.ts). */
export function socketDefaults(): Partial<Limits> {
  const limits = parseEnv({}).limits;
  return {
    socketEventsPerSecond: limits.socketEventsPerSecond,
    socketEventBurst: limits.socketEventBurst,
    addressEventsPerSecond: limits.addressEventsPerSecond,
    addressEventBurst: limits.addressEventBurst,
    socketFloodDisconnect: limits.socketFloodDisconnect,
    connectionsPerAddress: limits.connectionsPerAddress,
    socketInflightBytes: limits.socketInflightBytes,
    ungrantedResultBytesPerSecond: limits.ungrantedResultBytesPerSecond,
  };
}

export interface FloodGrid {
  coordinator: TestCoordinator;
  api: ChaosApi;
  siteKey: string;
  jobIds: string[];
  honest: Honest;
  close(): Promise<void>;
}

/** The coordinator (production socket limits, 4 MiB outputs), its honest volunteer and its job. */
export async function startFloodGrid(options: { jobs?: number; logStream?: { write(line: string): void } } = {}): Promise<FloodGrid> {
  const coordinator = await startTestCoordinator({
    limits: { ...socketDefaults(), maxOutputBytes: 4 * MiB, maxJobBodyBytes: 16 * MiB },
    // A sender stuck in the middle of an output answers no ping in time: it is closed after 6 s instead of 30.
    heartbeat: { intervalMs: 3_000, timeoutMs: 3_000 },
    ...(options.logStream ? { logStream: options.logStream } : {}),
  });
  await coordinator.listen();
  const api = chaosApi(coordinator.url, ADMIN_KEY);
  const siteKey = await api.createSite(['http://localhost:9999']);
  const primes = await api.uploadBuiltModule('primes');
  const jobIds: string[] = [];
  for (let job = 0; job < (options.jobs ?? 1); job++) {
    jobIds.push(await api.createJob({ module: primes, inputs: primeInputs(primeRanges(TASKS_PER_JOB, 10, job * TASKS_PER_JOB * 10)) }));
  }
  const honest = await startHonest(coordinator.url, siteKey);
  return {
    coordinator,
    api,
    siteKey,
    jobIds,
    honest,
    async close() {
      honest.stop();
      await coordinator.close();
    },
  };
}

export interface Honest {
  /** Tasks answered and accepted so far. */
  done(): number;
  /** Lease requests answered `rate_limited` so far (the honest volunteer waited them out). */
  rateLimited(): number;
  /** What stopped it, if something did (a refusal other than `rate_limited`). */
  failure(): unknown;
  stop(): void;
}

/** A fast honest volunteer: 8 workers' worth of leases, each answered with the right count at once. */
async function startHonest(url: string, key: string): Promise<Honest> {
  const socket: Socket = io(`${url}/volunteer`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { siteKey: key, volunteerId: 'honest-volunteer-0001', agent: 'node' },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  let done = 0;
  let rateLimited = 0;
  let failure: unknown;
  let running = true;
  const answer = async (lease: Lease): Promise<void> => {
    const view = new DataView(lease.input.buffer, lease.input.byteOffset, lease.input.byteLength);
    const output = Buffer.alloc(4);
    output.writeUInt32LE(countPrimesReference(view.getUint32(0, true), view.getUint32(4, true)), 0);
    const reply = await socket.timeout(30_000).emitWithAck('result', { leaseId: lease.leaseId, output, cpuMs: 1 });
    if ('ok' in reply) done += 1;
    else throw new Error(`the honest result was refused: ${JSON.stringify(reply)}`);
  };
  void (async () => {
    while (running) {
      const reply: LeaseReply = await socket.timeout(30_000).emitWithAck('lease', { slots: 16, workers: 8 });
      if ('error' in reply && reply.error.code === 'rate_limited') {
        // As a well-behaved client does; it costs the honest volunteer throughput, which is measured.
        rateLimited += 1;
        await new Promise((resolve) => setTimeout(resolve, (reply as RateLimitedBody).error.retryAfterMs));
        continue;
      }
      if ('error' in reply) throw new Error(`the honest lease was refused: ${reply.error.message}`);
      if (reply.leases.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      await Promise.all(reply.leases.map(answer));
    }
  })().catch((error: unknown) => {
    // Stopping disconnects the socket under a pending request: only a failure while running counts.
    if (running) failure = error;
  });
  return { done: () => done, rateLimited: () => rateLimited, failure: () => failure, stop: () => ((running = false), socket.disconnect()) };
}

export interface AttackRun {
  /** The attacker's own account: what it sent, what was answered, how its sockets ended. */
  report: Record<string, unknown>;
  /** Honest tasks a second while the attack ran, and around it (the mean of just before and just after). */
  during: number;
  /** How long the attack was measured: from its first packet to the attacker's exit (ms). */
  duringMs: number;
  before: number;
  /**
   * Honest tasks a second while the attacker's sockets connected, before its first packet (each
   * connection is a handshake and an admission: for 400 sockets a phase of its own), and how long.
   * NaN when that took under `SHORTEST_PHASE_MS` (one socket): too few honest tasks to count.
   */
  connecting: number;
  connectingMs: number;
  /** Slowest /api/v1/health answer during the attack (ms). */
  slowestHealthMs: number;
  /** Peak bytes of ArrayBuffers (Buffers) in this process during the attack. */
  peakBuffers: number;
}

/** How long the honest volunteer is measured before and after each attack. */
const AROUND_MS = 2_000;

/**
 * How long after the attacker's exit the "after" window starts: the coordinator's clean-up of the
 * attack (closing its connections, freeing its buffers) must not lower the baseline it is compared with.
 */
const SETTLE_MS = 1_000;

/** How long an attacker may run before it is killed (the longest attack takes about 10 s). */
const ATTACKER_LIMIT_MS = 60_000;

/** The shortest connecting phase whose honest rate is reported. */
const SHORTEST_PHASE_MS = 100;

/** Counts the honest volunteer's tasks from now: `rate()` is its tasks a second since, `ms()` the time. */
function honestSince(honest: Honest): { rate(): number; ms(): number } {
  const start = honest.done();
  const began = performance.now();
  const ms = (): number => performance.now() - began;
  return { rate: () => ((honest.done() - start) * 1000) / ms(), ms };
}

const tasksPerSecond = async (honest: Honest, ms: number): Promise<number> => {
  const counted = honestSince(honest);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return counted.rate();
};

/**
 * Asks `/api/v1/health` every 25 ms and reads this process's Buffer bytes after each answer, for
 * as long as an attack is measured, before and after it too: the probe itself costs the honest
 * volunteer (who shares this process with the coordinator) several percent, and that cost must fall
 * on both sides of the comparison. Only answers while `recording` count.
 */
function startProbe(url: string) {
  let slowestHealthMs = 0;
  let peakBuffers = 0;
  let recording = false;
  let over = false;
  let failure: unknown;
  const running = (async () => {
    while (!over) {
      const asked = performance.now();
      const askedWhileRecording = recording;
      const health = await fetch(`${url}/api/v1/health`);
      await health.arrayBuffer();
      if (health.status !== 200) throw new Error(`health answered ${health.status}`);
      // Asked during the attack or answered during it: the slowest answer is often the last one.
      if (askedWhileRecording || recording) {
        slowestHealthMs = Math.max(slowestHealthMs, performance.now() - asked);
        peakBuffers = Math.max(peakBuffers, process.memoryUsage().arrayBuffers);
      } else process.memoryUsage();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })().catch((error: unknown) => {
    failure = error; // reported by stop(), after the attack
  });
  return {
    record(on: boolean): void {
      recording = on;
    },
    /** Ends the probe without waiting for it (after a failure elsewhere). */
    halt(): void {
      over = true;
    },
    async stop(): Promise<{ slowestHealthMs: number; peakBuffers: number }> {
      over = true;
      await running;
      if (failure !== undefined) throw failure;
      return { slowestHealthMs, peakBuffers };
    },
  };
}

/**
 * Runs one attack (`spec`: flood-attacker.ts's, `sink: true` for the control) in its own process;
 * measures the honest volunteer from the attack's first packet to the attacker's exit (`during`),
 * and apart from that while the attacker's sockets connect (`connecting`).
 */
export async function attack(grid: FloodGrid, spec: Record<string, unknown>): Promise<AttackRun> {
  const { coordinator, siteKey, honest } = grid;
  const probe = startProbe(coordinator.url);
  try {
    const before = await tasksPerSecond(honest, AROUND_MS);
    const child = spawn(process.execPath, ['--import', 'tsx', 'e2e/support/flood-attacker.ts', JSON.stringify({ url: coordinator.url, siteKey, ...spec })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A real attacker spends its own machine's CPU, not the coordinator's: on this shared 2-core box
    // the attacker process runs at the lowest priority, so the ratio measures what the attack costs
    // the coordinator, not what the attacker's process takes from the honest side's cores.
    if (child.pid !== undefined) setPriority(child.pid, 19);
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const phase = (name: string) => new Promise<void>((resolve) => child.stdout.on('data', () => output.includes(`"${name}"`) && resolve()));
    const connectingPhase = phase('connecting');
    const attacking = phase('attacking');
    const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
    // An attacker that hangs must not hang the caller: it is killed, and fails the run.
    const stuck = setTimeout(() => child.kill('SIGKILL'), ATTACKER_LIMIT_MS);
    void exited.then(() => clearTimeout(stuck));
    await Promise.race([connectingPhase, exited]);
    const whileConnecting = honestSince(honest);
    await Promise.race([attacking, exited]);
    const connectingMs = whileConnecting.ms();
    const connecting = connectingMs < SHORTEST_PHASE_MS ? Number.NaN : whileConnecting.rate();
    const whileAttacking = honestSince(honest);
    probe.record(true);
    const code = await exited;
    const during = whileAttacking.rate();
    const duringMs = whileAttacking.ms();
    probe.record(false);
    // Before and after, so that a drift of the machine's load counts for both sides.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const after = await tasksPerSecond(honest, AROUND_MS);
    const { slowestHealthMs, peakBuffers } = await probe.stop();
    if (code !== 0) throw new Error(`the attacker failed (${code}): ${errors}`);
    if (honest.failure() !== undefined) throw new Error(`the honest volunteer stopped: ${String(honest.failure())}`);
    // No work around the attack (its jobs done) would make every share meaningless.
    if (!(before > 0 && after > 0)) throw new Error(`the honest volunteer had no work around the attack (${before} and ${after} tasks/s): give the grid more jobs`);
    const report = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown>;
    return { report, during, duringMs, before: (before + after) / 2, connecting, connectingMs, slowestHealthMs, peakBuffers };
  } finally {
    probe.halt();
  }
}

/** The attacks of issue 9 as the chaos test and the benchmark run them. */
export const ATTACKS = {
  // Each from loopback addresses of its own, as an attacker on another machine: the honest
  // volunteer's address (127.0.0.1) keeps its own budget.
  leases: { kind: 'leases', count: 10_000, addresses: ['127.0.0.9'] },
  results: { kind: 'results', sockets: 400, bytes: 4 * MiB, addresses: Array.from({ length: 8 }, (_, i) => `127.0.0.${10 + i}`) },
  silent: { kind: 'silent', count: 10_000, addresses: ['127.0.0.9'] },
} as const;

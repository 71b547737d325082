/**
 * Idle volunteers at scale: K coordinator processes (SQLite, each its own data dir; idle
 * connections touch no database after the handshake) and M client processes that open raw
 * Socket.IO volunteer connections from many loopback source addresses and keep them idle, the
 * heartbeat running at the production interval. Once all are up and have lived through two
 * heartbeats, a probe volunteer per coordinator asks for leases of a small job over and over.
 * Figures: connections held, every coordinator's RSS and their total, memory per connection (RSS
 * delta / connections), lease round trip p50/p99 under that load.
 *
 * `npm run bench` runs it at 50,000; alone: `npx tsx bench/connections.ts [volunteers]
 * [--per-address N] [--hold-ms N] [--connect-budget-ms N]`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from 'socket.io-client';
import { loadTaskWasm } from '../wasm/testing/task-modules.ts';
import { encodePrimesInput } from '../wasm/tasks/primes/codec.ts';
import { apiClient } from '../e2e/support/api.ts';
import { HEARTBEAT_INTERVAL_MS } from '../server/src/socket/volunteer.ts';
import type { LeaseReply } from '../server/src/protocol/events.ts';
import { BENCH_ADMIN_KEY, round, sleep } from './common.ts';
import { DEFAULT_SPREAD, percentile, spreadVolunteers, type SpreadLimits } from './connections-plan.ts';
import type { ClientPlan, ClientProgress } from './connections-client.ts';
import type { CoordinatorMemory } from './connections-coordinator.ts';
import type { Figure } from './report.ts';

const PORT_BASE = 18400;
/** Untimed leases before a probe's timed ones. */
const PROBE_WARMUP = 10;
const sum = <T>(items: readonly T[], of: (item: T) => number): number => items.reduce((total, item) => total + of(item), 0);

/** KiB per connection that a measure grew by, summed over the coordinators. */
function perConnectionKiB(after: CoordinatorMemory[], before: CoordinatorMemory[], of: (m: CoordinatorMemory) => number, connections: number): number {
  return round((sum(after, of) - sum(before, of)) / 1024 / Math.max(connections, 1), 2);
}
const MiB = 2 ** 20;

export interface IdleOptions {
  volunteers: number;
  spread?: Partial<SpreadLimits>;
  /** How long the crowd stays idle once connected, before the probes (default two heartbeats and a half). */
  holdMs?: number;
  /**
   * Time allowed for connecting (default 20 minutes): past it the clients open no more and the
   * bench measures the crowd it has, reporting how many were planned.
   */
  connectBudgetMs?: number;
  /** Lease round trips per coordinator's probe. */
  probeLeases?: number;
  /** Where progress lines go (stderr by default; the figures go to stdout). */
  log?: (line: string) => void;
}

/** Resident set size of a process, from /proc (Linux). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}

interface ClientProcess {
  child: ChildProcess;
  latest?: ClientProgress;
}

function startClient(plan: ClientPlan): ClientProcess {
  const script = fileURLToPath(new URL('./connections-client.ts', import.meta.url));
  const child = fork(script, [JSON.stringify(plan)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const client: ClientProcess = { child };
  child.on('message', (message: ClientProgress) => (client.latest = message));
  return client;
}

const totals = (clients: ClientProcess[]) =>
  clients.reduce(
    (sum, { latest }) => ({
      planned: sum.planned + (latest?.planned ?? 0),
      connected: sum.connected + (latest?.connected ?? 0),
      failed: sum.failed + (latest?.failed ?? 0),
      dropped: sum.dropped + (latest?.dropped ?? 0),
      rssBytes: sum.rssBytes + (latest?.rssBytes ?? 0),
      done: sum.done && latest?.done === true,
      errors: [...sum.errors, ...(latest?.errors ?? [])],
    }),
    { planned: 0, connected: 0, failed: 0, dropped: 0, rssBytes: 0, done: true, errors: [] as string[] },
  );

/** One probe volunteer: `leases` lease requests one after the other, each answered lease reported done. */
/**
 * Lease round trips of one volunteer leasing and answering `leases` tasks, one at a time, after
 * `warmup` untimed ones: the first claims compile the coordinator's prepared statements and warm
 * its code, which a coordinator that has been running meets only once.
 */
export async function probe(url: string, siteKey: string, leases: number, warmup = PROBE_WARMUP): Promise<number[]> {
  const socket: Socket = io(`${url}/volunteer`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { siteKey, volunteerId: `probe-volunteer-${url.slice(-5)}`, agent: 'node' },
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const times: number[] = [];
  try {
    for (let n = 0; n < warmup + leases; n++) {
      const started = performance.now();
      const reply: LeaseReply = await socket.timeout(10_000).emitWithAck('lease', { slots: 1, workers: 1 });
      if (n >= warmup) times.push(performance.now() - started);
      if (!('leases' in reply)) throw new Error(`probe lease refused: ${JSON.stringify(reply)}`);
      const lease = reply.leases[0];
      if (!lease) throw new Error('probe found no work: the probe job is too small');
      const done = await socket.timeout(10_000).emitWithAck('result', { leaseId: lease.leaseId, output: new Uint8Array(4), cpuMs: 1 });
      if (!('ok' in done)) throw new Error(`probe result refused: ${JSON.stringify(done)}`);
    }
  } finally {
    socket.close();
  }
  return times;
}

interface BenchCoordinator {
  url: string;
  pid: number;
  /** Its memory right after a full garbage collection. */
  memory(): Promise<CoordinatorMemory>;
  stop(): Promise<void>;
}

/** `npm start`'s coordinator on SQLite in `dataDir` (emptied first), demo off, as a child with IPC. */
async function startCoordinator(port: number, dataDir: string, perAddress: number): Promise<BenchCoordinator> {
  await rm(dataDir, { recursive: true, force: true });
  const url = `http://127.0.0.1:${port}`;
  const script = fileURLToPath(new URL('./connections-coordinator.ts', import.meta.url));
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DEMO_PORT: String(port + 1), DATA_DIR: dataDir, SPARECYCLES_ADMIN_KEY: BENCH_ADMIN_KEY, SPARECYCLES_DEMO: '0', LOG_LEVEL: 'warn',
      // The flood defences' connections-per-address cap (64 by default) would refuse a bench address's
      // share; the bench spreads over loopback addresses and lifts the cap to exactly that share.
      SPARECYCLES_CONNECTIONS_PER_ADDRESS: String(perAddress) },
    // Its start-up banner stays off the bench's stdout (the figures); warnings still show.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${url}/api/v1/health`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null) throw new Error(`coordinator on port ${port} exited (${child.exitCode})`);
    if (Date.now() > deadline) throw new Error(`coordinator on port ${port} did not become healthy`);
    await sleep(200);
  }
  return {
    url,
    pid: child.pid ?? 0,
    memory: () =>
      new Promise((resolve) => {
        const onMessage = (message: CoordinatorMemory): void => {
          if (message.type !== 'memory') return;
          child.off('message', onMessage);
          resolve(message);
        };
        child.on('message', onMessage);
        child.send('memory');
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Runs the bench; returns its figures (connections held, memory per connection, lease round trip). */
export async function idleConnections(options: IdleOptions): Promise<Figure[]> {
  const log = options.log ?? ((line: string) => console.error(line));
  const limits = { ...DEFAULT_SPREAD, ...options.spread };
  const spread = spreadVolunteers(options.volunteers, limits);
  const holdMs = options.holdMs ?? Math.round(HEARTBEAT_INTERVAL_MS * 2.5);
  const probeLeases = options.probeLeases ?? 300;
  const primes = await loadTaskWasm('primes');

  const coordinators: BenchCoordinator[] = [];
  const clients: ClientProcess[] = [];
  try {
    const siteKeys: string[] = [];
    for (let k = 0; k < spread.coordinators; k++) {
      const coordinator = await startCoordinator(PORT_BASE + 2 * k, `.tmp/bench-idle-${k}`, limits.perAddress);
      coordinators.push(coordinator);
      const api = apiClient(coordinator.url, BENCH_ADMIN_KEY);
      siteKeys.push(await api.createSite([`http://localhost:${PORT_BASE + 2 * k + 1}`]));
      const hash = await api.uploadModule(primes);
      await api.createJob({ module: hash, inputs: Array.from({ length: probeLeases + PROBE_WARMUP + 10 }, (_, i) => encodePrimesInput(i * 10, i * 10 + 10)), deadlineMs: 60_000 });
    }
    await sleep(2000);
    const pids = coordinators.map((c) => c.pid);
    const baseline = await Promise.all(pids.map(rssBytes));
    const baselineCollected = await Promise.all(coordinators.map((c) => c.memory()));
    log(`${spread.coordinators} coordinators up, ${baseline.map((b) => round(b / MiB, 1)).join(' / ')} MiB each; ` +
      `${spread.clients.length} client processes, ${spread.addresses} source addresses`);

    const connectStarted = performance.now();
    for (const batches of spread.clients) {
      clients.push(startClient({ urls: coordinators.map((c) => c.url), siteKeys, coordinators: spread.coordinators, batches, concurrency: 64 }));
    }
    const deadline = Date.now() + (options.connectBudgetMs ?? 20 * 60_000);
    let budgetSpent = false;
    for (;;) {
      await sleep(2000);
      const now = totals(clients);
      log(`connected ${now.connected}, failed ${now.failed}, dropped ${now.dropped} of ${options.volunteers}`);
      if (clients.length > 0 && clients.every((c) => c.latest?.done)) break;
      if (clients.some((c) => c.child.exitCode !== null)) throw new Error('a client process exited early');
      if (Date.now() > deadline && !budgetSpent) {
        budgetSpent = true;
        log('time for connecting is up: measuring the volunteers connected so far');
        for (const client of clients) client.child.send('enough');
      }
    }
    const connectMs = performance.now() - connectStarted;
    const afterConnect = totals(clients);
    if (afterConnect.errors.length > 0) log(`errors: ${[...new Set(afterConnect.errors)].join('; ')}`);

    log(`holding ${holdMs} ms (ping every ${HEARTBEAT_INTERVAL_MS} ms)`);
    await sleep(holdMs);
    const held = await Promise.all(pids.map(rssBytes));
    const heldCollected = await Promise.all(coordinators.map((c) => c.memory()));
    await sleep(2000);

    const probes = await Promise.all(coordinators.map((c, k) => probe(c.url, siteKeys[k]!, probeLeases)));
    const times = probes.flat();
    await sleep(1000);
    const end = totals(clients);
    const after = await Promise.all(pids.map(rssBytes));
    const rss = held.map((bytes, k) => Math.max(bytes, after[k]!));
    const holding = end.connected - end.dropped;
    const totalRss = rss.reduce((a, b) => a + b, 0);
    const deltaRss = totalRss - baseline.reduce((a, b) => a + b, 0);
    if (end.errors.length > 0) log(`errors: ${[...new Set(end.errors)].join('; ')}`);

    const perCoordinator: Record<string, number> = {};
    rss.forEach((bytes, k) => (perCoordinator[`coordinator${k}RssMiB`] = round(bytes / MiB, 1)));
    return [
      {
        name: 'idle-connections',
        unit: 'volunteers held',
        value: holding,
        detail: {
          planned: options.volunteers,
          failed: end.failed,
          dropped: end.dropped,
          coordinators: spread.coordinators,
          clientProcesses: spread.clients.length,
          sourceAddresses: spread.addresses,
          perAddress: limits.perAddress,
          pingIntervalMs: HEARTBEAT_INTERVAL_MS,
          heldMs: holdMs,
          connectSeconds: round(connectMs / 1000, 1),
          coordinatorsRssMiB: round(totalRss / MiB, 1),
          ...perCoordinator,
          baselineRssMiB: round(baseline.reduce((a, b) => a + b, 0) / MiB, 1),
          clientsRssMiB: round(end.rssBytes / MiB, 1),
          goalMiB: 2048,
        },
      },
      {
        name: 'memory-per-connection',
        unit: 'KiB',
        value: round(deltaRss / Math.max(holding, 1) / 1024, 2),
        detail: {
          connections: holding,
          rssDeltaMiB: round(deltaRss / MiB, 1),
          // After a full collection in every coordinator: what the connections really keep.
          collectedRssKiB: perConnectionKiB(heldCollected, baselineCollected, (m) => m.rssBytes, holding),
          heapKiB: perConnectionKiB(heldCollected, baselineCollected, (m) => m.heapUsedBytes, holding),
          externalKiB: perConnectionKiB(heldCollected, baselineCollected, (m) => m.externalBytes, holding),
        },
      },
      {
        name: 'lease-rtt-idle-crowd',
        unit: 'ms p99',
        value: round(percentile(times, 99), 2),
        detail: {
          p50Ms: round(percentile(times, 50), 2),
          maxMs: round(Math.max(...times), 2),
          leases: times.length,
          warmupLeasesPerProbe: PROBE_WARMUP,
          probes: coordinators.length,
          idleVolunteers: holding,
          goalMs: 50,
        },
      },
    ];
  } finally {
    for (const client of clients) if (client.child.connected) client.child.send('stop');
    await sleep(500);
    for (const client of clients) if (client.child.exitCode === null) client.child.kill('SIGKILL');
    await Promise.all(coordinators.map((c) => c.stop()));
  }
}

function option(name: string): number | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : Number(process.argv[at + 1]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const volunteers = Number(process.argv[2] ?? 50_000);
  const perAddress = option('--per-address');
  const holdMs = option('--hold-ms');
  const connectBudgetMs = option('--connect-budget-ms');
  const figures = await idleConnections({
    volunteers,
    ...(perAddress !== undefined ? { spread: { perAddress } } : {}),
    ...(holdMs !== undefined ? { holdMs } : {}),
    ...(connectBudgetMs !== undefined ? { connectBudgetMs } : {}),
  });
  for (const figure of figures) console.log(JSON.stringify(figure));
}

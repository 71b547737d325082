/**
 * Coordinator throughput against its transport, for `npm run bench`: N raw Socket.IO volunteers
 * (`throughput-volunteers.ts`, no wasm: each lease answered at once with its computed output) in 2
 * child processes, first against a bare Socket.IO server that only acknowledges the same events
 * (`throughput-bare.ts`), then against a floor server that only writes each result durably and
 * two rungs of it closer to the coordinator's schema (`throughput-floor.ts`), then against a real
 * coordinator process on SQLite with one job of tiny tasks at r = 1. Each is measured over the same
 * window after a warm-up: results acknowledged per second, the server child's CPU per result, lease
 * round trips p50/p99 under that load. The coordinator's rate over the bare server's is the figure
 * (same clients, same run).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { apiClient } from '../e2e/support/api.ts';
import { startNodes } from '../server/src/cluster/processes.ts';
import { startThrowawayPostgres } from '../server/src/store/postgres-testing.ts';
import { startCoordinatorProcess } from '../e2e/support/coordinator-process.ts';
import { encodePrimesInput } from '../wasm/tasks/primes/codec.ts';
import { BENCH_ADMIN_KEY, round, sleep } from './common.ts';
import { processCpuMs } from './machine.ts';
import type { Figure } from './report.ts';
import type { ChildMessage, VolunteersConfig } from './throughput-volunteers.ts';

export interface ThroughputOptions {
  volunteers: number;
  /** Leases asked per request (the real agent with one worker asks for 2: one running, one queued). */
  slots: number;
  /** One `results` event per grant instead of a `result` per lease. */
  batch: boolean;
  warmupMs: number;
  windowMs: number;
  /** Tasks in the coordinator's job: more than the window can use. */
  tasks: number;
}

interface Measured {
  resultsPerSecond: number;
  cpuMsPerResult: number | null;
  cpuShare: number | null;
  /** The two client processes' CPU per result: they share the machine's cores with the server. */
  clientCpuMsPerResult: number | null;
  rttP50Ms: number;
  rttP99Ms: number;
  /** Results acknowledged in the window. */
  acked: number;
  /** Results acknowledged from the start to the window's end (warm-up included). */
  ackedTotal: number;
  refused: number;
}

const PROCESSES = 2;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Waits for one message of `type` from a child. */
function next<T extends ChildMessage['type']>(child: ChildProcess, type: T): Promise<Extract<ChildMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ChildMessage): void => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message as Extract<ChildMessage, { type: T }>);
    };
    const onExit = (code: number | null): void => reject(new Error(`volunteer process exited (${code}) before '${type}'`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Runs the clients against `urls` and measures the server processes `serverPids` (summed) over the window. */
async function measure(urls: string[], siteKey: string, serverPids: number[], options: ThroughputOptions): Promise<Measured> {
  const children = Array.from({ length: PROCESSES }, (_, p) => {
    const config: VolunteersConfig = {
      urls,
      siteKey,
      count: Math.ceil(options.volunteers / PROCESSES),
      prefix: `p${p}-${Date.now().toString(36)}`,
      slots: options.slots,
      batch: options.batch,
    };
    return fork('bench/throughput-volunteers.ts', [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, THROUGHPUT_VOLUNTEERS: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  });
  try {
    await Promise.all(children.map((child) => next(child, 'ready')));
    for (const child of children) child.send({ type: 'start' });
    const sample = async () => {
      const samples = await Promise.all(children.map((child) => (child.send({ type: 'sample' }), next(child, 'sample'))));
      return {
        at: performance.now(),
        cpuMs: await processesCpuMs(serverPids),
        clientCpuMs: await processesCpuMs(children.map((child) => child.pid!)),
        acked: samples.reduce((sum, s) => sum + s.acked, 0),
        refused: samples.reduce((sum, s) => sum + s.refused, 0),
        rtts: samples.flatMap((s) => s.rttsMs),
      };
    };
    await sleep(options.warmupMs);
    const before = await sample();
    await sleep(options.windowMs);
    const after = await sample();
    for (const child of children) child.send({ type: 'stop' });
    await Promise.all(children.map((child) => next(child, 'stopped')));
    const seconds = (after.at - before.at) / 1000;
    const acked = after.acked - before.acked;
    const cpuMs = before.cpuMs !== undefined && after.cpuMs !== undefined ? after.cpuMs - before.cpuMs : undefined;
    const clientCpuMs = before.clientCpuMs !== undefined && after.clientCpuMs !== undefined ? after.clientCpuMs - before.clientCpuMs : undefined;
    const rtts = after.rtts.sort((a, b) => a - b);
    return {
      resultsPerSecond: acked / seconds,
      cpuMsPerResult: cpuMs === undefined || acked === 0 ? null : cpuMs / acked,
      cpuShare: cpuMs === undefined ? null : cpuMs / (seconds * 1000),
      clientCpuMsPerResult: clientCpuMs === undefined || acked === 0 ? null : clientCpuMs / acked,
      rttP50Ms: percentile(rtts, 50),
      rttP99Ms: percentile(rtts, 99),
      acked,
      ackedTotal: after.acked,
      refused: after.refused - before.refused,
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function againstBare(port: number, options: ThroughputOptions): Promise<Measured> {
  const server = spawn(process.execPath, ['--import', 'tsx', 'bench/throughput-bare.ts'], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('message', () => resolve());
      server.once('exit', (code) => reject(new Error(`bare server exited (${code})`)));
    });
    return await measure([`http://127.0.0.1:${port}`], 'bare', [server.pid!], options);
  } finally {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
}

/** What the floor server writes (`throughput-floor.ts`): each rung adds to the one before. */
type FloorWrites = 'results' | 'claims' | 'leases';

/**
 * The floor server (`throughput-floor.ts`): the least per result that keeps results durable,
 * over the real schema, or with `writes` a rung closer to the coordinator's schema. Checks that
 * it wrote every result it acknowledged and never ran out of work.
 */
async function againstFloor(port: number, options: ThroughputOptions, writes: FloorWrites = 'results'): Promise<Measured> {
  const server = spawn(process.execPath, ['--import', 'tsx', 'bench/throughput-floor.ts'], {
    env: { ...process.env, PORT: String(port), TASKS: String(Math.max(options.tasks, FLOOR_TASKS)), FLOOR_WRITES: writes },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Its last message (its task counts, sent when it is told to stop) or the end of its IPC channel.
  const counted = new Promise<{ completed: number; pending: number } | undefined>((resolve) => {
    server.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && 'completed' in message) resolve(message as { completed: number; pending: number });
    });
    server.once('disconnect', () => resolve(undefined));
  });
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  let measured: Measured | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('message', () => resolve());
      server.once('exit', (code) => reject(new Error(`floor server exited (${code})`)));
    });
    measured = await measure([`http://127.0.0.1:${port}`], 'floor', [server.pid!], options);
  } finally {
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGTERM');
  }
  const counts = await counted;
  await exited;
  if (!counts) throw new Error(`the floor server exited (${server.exitCode ?? server.signalCode}) without counting its tasks`);
  if (counts.completed < measured.ackedTotal) throw new Error(`the floor server acknowledged ${measured.ackedTotal} results but wrote ${counts.completed}`);
  if (counts.pending === 0) throw new Error("the floor server ran out of tasks: its rate is not the transport's");
  return measured;
}

/** Tasks of the floor server's job: it runs at up to about 25,000 results/s here, over a warm-up and a window. */
const FLOOR_TASKS = 250_000;

async function againstCoordinator(port: number, primes: Uint8Array, options: ThroughputOptions): Promise<Measured & { completed: number }> {
  // THROUGHPUT_CPU_PROF=dir: the coordinator (only) writes a V8 CPU profile there when it exits;
  // THROUGHPUT_NODE_ARGS: other flags for its node (e.g. `--import` of a statement timer).
  const profileDir = process.env['THROUGHPUT_CPU_PROF'];
  const coordinator = await startCoordinatorProcess({
    port,
    dataDir: '.tmp/bench-tput',
    adminKey: BENCH_ADMIN_KEY,
    ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
    ...(process.env['THROUGHPUT_NODE_ARGS'] ? { nodeArgs: process.env['THROUGHPUT_NODE_ARGS'].split(' ') } : {}),
  });
  try {
    const api = apiClient(coordinator.url, BENCH_ADMIN_KEY);
    const siteKey = await api.createSite([`http://localhost:${port + 2}`]);
    const hash = await api.uploadModule(primes);
    const inputs = Array.from({ length: options.tasks }, (_, i) => encodePrimesInput((i % 1000) * 20, (i % 1000) * 20 + 20));
    const jobId = await api.createJob({ module: hash, inputs, deadlineMs: 60_000 });
    const measured = await measure([coordinator.url], siteKey, [coordinator.child.pid!], options);
    const status = await api.jobStatus(jobId);
    // Every acknowledged result is an accepted one: the job counts at least as many completed.
    if (status.counts.completed < measured.ackedTotal) throw new Error(`acked ${measured.ackedTotal} results but the job counts ${status.counts.completed} completed`);
    if (status.counts.failed > 0) throw new Error(`${status.counts.failed} tasks failed: ${JSON.stringify(status.counts)}`);
    if (status.counts.pending === 0) throw new Error(`the job ran out of tasks (${options.tasks}): its rate is not the coordinator's; raise --tasks`);
    return { ...measured, completed: status.counts.completed };
  } finally {
    await coordinator.stop();
  }
}

/** A CPU time per result in ms to three decimals, or null when it could not be read. */
const msOrNull = (ms: number | null): number | null => (ms === null ? null : round(ms, 3));

/** CPU time of several processes together (undefined when one cannot be read). */
async function processesCpuMs(pids: number[]): Promise<number | undefined> {
  const each = await Promise.all(pids.map((pid) => processCpuMs(pid)));
  return each.some((ms) => ms === undefined) ? undefined : each.reduce((sum: number, ms) => sum + ms!, 0);
}

/**
 * `nodes` coordinator processes on one throwaway PostgreSQL (fsync on: a commit is durable, as in
 * production), the same clients spread over them, one job of tiny tasks at r = 1. CPU per result
 * counts the nodes only (the database server's own CPU is not in it).
 */
async function againstPostgresNodes(nodes: number, primes: Uint8Array, options: ThroughputOptions): Promise<Measured> {
  // THROUGHPUT_CPU_PROF=dir: every node writes a V8 CPU profile there when it exits.
  const profileDir = process.env['THROUGHPUT_CPU_PROF'];
  const postgres = await startThrowawayPostgres({ maxConnections: 200 });
  try {
    const started = await startNodes({ databaseUrl: postgres.url, nodes, basePort: 18330, adminKey: BENCH_ADMIN_KEY, env: { LOG_LEVEL: 'warn' }, ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}) });
    try {
      const api = apiClient(started[0]!.url, BENCH_ADMIN_KEY);
      const siteKey = await api.createSite([`http://localhost:18329`]);
      const hash = await api.uploadModule(primes);
      const inputs = Array.from({ length: options.tasks }, (_, i) => encodePrimesInput((i % 1000) * 20, (i % 1000) * 20 + 20));
      await api.createJob({ module: hash, inputs, deadlineMs: 60_000 });
      return await measure(
        started.map((node) => node.url),
        siteKey,
        started.map((node) => node.child.pid!),
        options,
      );
    } finally {
      await Promise.all(started.map((node) => node.stop()));
    }
  } finally {
    await postgres.stop();
  }
}

/**
 * Results/s of 1, 2 and 3 nodes on PostgreSQL with the same clients, and the bare server's rate
 * measured in the same run: the figure is the largest cluster's rate.
 */
export async function throughputOnPostgres(primes: Uint8Array, options: ThroughputOptions, nodeCounts: readonly number[] = [1, 2, 3]): Promise<Figure> {
  const bare = await againstBare(18300, options);
  const detail: Record<string, number | null> = { volunteers: options.volunteers, slots: options.slots, batched: options.batch ? 1 : 0, windowMs: options.windowMs, bareResultsPerSecond: round(bare.resultsPerSecond, 0) };
  let last: Measured | undefined;
  for (const nodes of nodeCounts) {
    last = await againstPostgresNodes(nodes, primes, options);
    detail[`nodes${nodes}ResultsPerSecond`] = round(last.resultsPerSecond, 0);
    detail[`nodes${nodes}CpuMsPerResult`] = msOrNull(last.cpuMsPerResult);
    detail[`nodes${nodes}LeaseRttP99Ms`] = round(last.rttP99Ms, 1);
    detail[`nodes${nodes}RatioToBare`] = round(last.resultsPerSecond / bare.resultsPerSecond, 3);
  }
  return { name: 'postgres-results-per-second', unit: 'results/s', value: round(last?.resultsPerSecond ?? 0, 0), detail };
}

/**
 * What the coordinator may spend per result, in ms of CPU, to reach `goalRatio` of the bare
 * server's rate on this machine: at that rate the cores give `cores / rate` per result, of which
 * the clients (on the same machine) take their share; one thread can use at most one core.
 */
export function coordinatorBudget(bareRate: number, goalRatio: number, cores: number, clientCpuMsPerResult: number): { allThreadsMs: number; oneThreadMs: number } {
  const perResultMs = 1000 / (goalRatio * bareRate);
  return { allThreadsMs: Math.max(0, cores * perResultMs - clientCpuMsPerResult), oneThreadMs: perResultMs };
}

/**
 * Bare server, floor server (and its two rungs towards the coordinator's schema), then the
 * coordinator, with the same clients: the figure is the coordinator's rate; the floor's rate over
 * the bare server's bounds the ratio any coordinator that keeps results durable could reach here.
 */
export async function throughputVersusBare(primes: Uint8Array, options: ThroughputOptions): Promise<Figure> {
  const bare = await againstBare(18300, options);
  const floor = await againstFloor(18305, options);
  const withClaims = await againstFloor(18306, options, 'claims');
  const withLeases = await againstFloor(18307, options, 'leases');
  const coordinator = await againstCoordinator(18310, primes, options);
  const goalRatio = 0.6;
  // A floor server's rate, CPU per result and ratio to the bare server, under `name`.
  const rung = (name: string, measured: Measured): Record<string, number | null> => ({
    [`${name}ResultsPerSecond`]: round(measured.resultsPerSecond, 0),
    [`${name}CpuMsPerResult`]: msOrNull(measured.cpuMsPerResult),
    [`${name}RatioToBare`]: round(measured.resultsPerSecond / bare.resultsPerSecond, 3),
  });
  const budget = coordinator.clientCpuMsPerResult === null ? undefined : coordinatorBudget(bare.resultsPerSecond, goalRatio, availableParallelism(), coordinator.clientCpuMsPerResult);
  return {
    name: 'results-per-second',
    unit: 'results/s',
    value: round(coordinator.resultsPerSecond, 0),
    detail: {
      volunteers: options.volunteers,
      processes: PROCESSES,
      slots: options.slots,
      batched: options.batch ? 1 : 0,
      windowMs: options.windowMs,
      coordinatorCpuMsPerResult: msOrNull(coordinator.cpuMsPerResult),
      coordinatorCpuShare: coordinator.cpuShare === null ? null : round(coordinator.cpuShare, 2),
      leaseRttP50Ms: round(coordinator.rttP50Ms, 2),
      leaseRttP99Ms: round(coordinator.rttP99Ms, 2),
      refused: coordinator.refused,
      bareResultsPerSecond: round(bare.resultsPerSecond, 0),
      bareCpuMsPerResult: msOrNull(bare.cpuMsPerResult),
      bareLeaseRttP50Ms: round(bare.rttP50Ms, 2),
      bareLeaseRttP99Ms: round(bare.rttP99Ms, 2),
      clientCpuMsPerResult: msOrNull(coordinator.clientCpuMsPerResult),
      bareClientCpuMsPerResult: msOrNull(bare.clientCpuMsPerResult),
      ...rung('floor', floor),
      floorClientCpuMsPerResult: msOrNull(floor.clientCpuMsPerResult),
      floorLeaseRttP50Ms: round(floor.rttP50Ms, 2),
      // The ladder towards the coordinator's schema: the grant's task write (grant acknowledged after its commit), then lease rows.
      ...rung('floorClaims', withClaims),
      ...rung('floorLeases', withLeases),
      cores: availableParallelism(),
      budgetAllThreadsMsPerResult: budget ? round(budget.allThreadsMs, 3) : null,
      budgetOneThreadMsPerResult: budget ? round(budget.oneThreadMs, 3) : null,
      ratioToBare: round(coordinator.resultsPerSecond / bare.resultsPerSecond, 3),
      goalResultsPerSecond: 10_000,
      goalRatio,
    },
  };
}

// `tsx bench/throughput.ts [--batch] [--slots N] [--postgres]`: this figure alone, printed (for profiling runs).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { loadTaskWasm } = await import('../wasm/testing/task-modules.ts');
  const arg = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
  const options: ThroughputOptions = {
    volunteers: Number(arg('--volunteers') ?? 50),
    slots: Number(arg('--slots') ?? 2),
    batch: process.argv.includes('--batch'),
    warmupMs: 1500,
    windowMs: Number(arg('--window') ?? 4000),
    tasks: Number(arg('--tasks') ?? 60_000),
  };
  const primes = await loadTaskWasm('primes');
  const figure = process.argv.includes('--postgres') ? await throughputOnPostgres(primes, options, (arg('--nodes') ?? '1,2,3').split(',').map(Number)) : await throughputVersusBare(primes, options);
  console.log(JSON.stringify(figure));
}

/**
 * `npm run bench`: baseline figures, one JSON object per figure on stdout, and docs/benchmarks.md.
 *  (a) the same CPU-bound wasm job (~100 ms tasks) natively in Node worker_threads on every core,
 *      and through the whole grid (coordinator + Socket.IO + headless Chromium's worker pool) with
 *      the same number of workers: the ratio grid / native.
 *  (b) accepted results per second on tiny tasks, one coordinator on SQLite: raw Socket.IO
 *      volunteers in 2 processes against the coordinator and against a bare Socket.IO server
 *      (throughput.ts: the ratio, CPU per result, lease round trips), the same on 1, 2 and 3
 *      nodes over one PostgreSQL, and 50 whole Node agents.
 *  (c) a job of 1,000,000 inputs streamed as NDJSON: inputs/s and the coordinator's peak RSS
 *      against a 100,000-input job (peak RSS must not grow with the job's size).
 *  (d) 50,000 idle volunteers over several coordinator and client processes: connections held,
 *      RSS per coordinator and memory per connection, lease round trip p50/p99 meanwhile.
 *  (e) the socket floods of issue 9 beside an honest volunteer: its share of throughput kept,
 *      the result flood also against a control (the same attacker sending to a sink).
 * Ratios are measured in the same run: this machine is shared and noisy.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import { chromium, expect } from '@playwright/test';
import { compileTask, runTask } from '../wasm/host/index.ts';
import { decodePrimesOutput, encodePrimesInput } from '../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../wasm/tasks/primes/reference.ts';
import { startNodeVolunteer } from '../client/src/agent/index.ts';
import { apiClient, hostPageUrl } from '../e2e/support/api.ts';
import { embedFrame, allowSharing, chooseShare } from '../e2e/support/frame.ts';
import { readJobLeases } from '../e2e/support/chaos-db.ts';
import { DEFAULT_SITE_LIMITS } from '../client/src/runtime/policy.ts';
import { primeInputs, primeRanges } from '../e2e/support/jobs.ts';
import { taskWasmPath } from '../wasm/testing/task-modules.ts';
import { startCoordinatorProcess } from '../e2e/support/coordinator-process.ts';
import { serveHostPages } from '../e2e/support/host-pages.ts';
import { chromiumArgs, chromiumPath } from '../e2e/support/chromium.ts';
import { describeMachine, descendantsCpuMs, processCpuMs } from './machine.ts';
import { runNative } from './native.ts';
import { BENCH_ADMIN_KEY, round, sleep } from './common.ts';
import { renderReport, type Figure } from './report.ts';
import { adaptiveOverhead, failover, replicationThroughput } from './scheduling.ts';
import { acceptInputs } from './streaming.ts';
import { throughputOnPostgres, throughputVersusBare } from './throughput.ts';
import { idleConnections } from './connections.ts';
import { floodShares } from './flood.ts';
import { writeFloor } from './write-floor.ts';
import { crowd } from './crowd.ts';

const LIMITS = { maxMemoryBytes: 256 * 2 ** 20, maxOutputBytes: 4 * 2 ** 20 };
const PRIMES_FROM = 1_000_000_000;

const figures: Figure[] = [];
function report(figure: Figure): void {
  figures.push(figure);
  console.log(JSON.stringify(figure));
}


/** A primes range width whose task takes about `targetMs` on one core of this machine. */
async function calibrate(moduleBytes: Uint8Array, targetMs: number): Promise<number> {
  const module = await compileTask(moduleBytes, LIMITS.maxMemoryBytes);
  let width = 10_000;
  for (let round = 0; round < 4; round++) {
    const started = performance.now();
    await runTask(module, encodePrimesInput(PRIMES_FROM, PRIMES_FROM + width), LIMITS);
    const ms = performance.now() - started;
    width = Math.max(1000, Math.round((width * targetMs) / Math.max(ms, 1)));
  }
  return width;
}

type Api = ReturnType<typeof apiClient>;

/** Polls a job until it ends; returns when work on it was first seen and when it ended. */
async function waitDone(api: Api, jobId: string, pollMs: number): Promise<{ firstSeenAt: number; doneAt: number }> {
  let firstSeenAt = Number.NaN;
  for (;;) {
    const status = await api.jobStatus(jobId);
    const now = performance.now();
    if (Number.isNaN(firstSeenAt) && status.counts.pending < status.counts.total) firstSeenAt = now;
    if (status.state !== 'active') {
      if (status.counts.completed !== status.counts.total) throw new Error(`job ${jobId} ended ${JSON.stringify(status)}`);
      return { firstSeenAt, doneAt: now };
    }
    await sleep(pollMs);
  }
}

/** One timed job on the grid: wall time from creation to the poll that saw it end, checked against native. */
interface GridRun {
  wallMs: number;
  startLatencyMs: number;
  /** Mean milliseconds a worker reported per task (instantiate, copy in, run, copy out). */
  workerMsPerTask: number;
  /** CPU of the coordinator and the browser while the job ran, per task. */
  cpuMsPerTask: number;
}

/**
 * Timed by the coordinator's own records (same machine, same clock): from the job's creation to
 * its last accepted result, so the status poll neither adds its interval nor takes CPU from the
 * workers at a high rate.
 */
async function timeGridJob(api: Api, dbFile: string, hash: string, inputs: Uint8Array[], expected: Uint8Array[]): Promise<GridRun> {
  const cpuBefore = await descendantsCpuMs(process.pid);
  const started = Date.now();
  const jobId = await api.createJob({ module: hash, inputs, deadlineMs: 60_000 });
  await waitDone(api, jobId, 250);
  const cpuMs = (await descendantsCpuMs(process.pid)) - cpuBefore;
  const results = await api.jobResults(jobId);
  results.forEach((line, i) => {
    if (line.output !== Buffer.from(expected[i]!).toString('base64')) throw new Error(`grid task ${i} differs from native`);
  });
  const completed = readJobLeases(dbFile, jobId).filter((lease) => lease.state === 'completed');
  const workerMs = completed.reduce((sum, lease) => sum + (lease.cpuMs ?? 0), 0);
  const firstLease = Math.min(...completed.map((lease) => lease.issuedAt));
  const lastResult = Math.max(...completed.map((lease) => lease.endedAt ?? Number.NaN));
  // An idle volunteer polls for work with a backoff: the wait for the first lease is start-up
  // latency, the rest is the grid's steady-state cost.
  return { wallMs: lastResult - started, startLatencyMs: firstLease - started, workerMsPerTask: workerMs / completed.length, cpuMsPerTask: cpuMs / inputs.length };
}

/** Full-share rounds, each a native run and a grid run back to back; the figure is their median. */
const ROUNDS = 3;

/**
 * The grid at the visitor's full share (no rests), against native on the same worker count; the
 * same job at the default share (a rest after every task as long as the task) is reported beside
 * it, since that is what a visitor who changes nothing gives. This machine is shared: each grid run
 * is paired with a native run just before it, and the full-share ratio is the median of `ROUNDS`.
 */
async function gridVersusNative(primes: Uint8Array, workers: number): Promise<void> {
  const width = await calibrate(primes, 100);
  const tasks = workers * 15;
  const ranges = primeRanges(tasks, width, PRIMES_FROM);
  const inputs = primeInputs(ranges);
  // CPU per task too: on a machine others share, wall time varies with their load, CPU much less.
  const nativeRun = async (): Promise<{ wallMs: number; cpuMsPerTask: number }> => {
    const cpuBefore = process.cpuUsage();
    const native = await runNative(primes, inputs, workers, LIMITS);
    const cpu = process.cpuUsage(cpuBefore);
    native.outputs.forEach((output, i) => {
      const { lo, hi } = ranges[i]!;
      if (decodePrimesOutput(output) !== countPrimesReference(lo, hi)) throw new Error(`native task ${i} is wrong`);
    });
    return { wallMs: native.wallMs, cpuMsPerTask: (cpu.user + cpu.system) / 1000 / tasks };
  };
  const expected = (await runNative(primes, inputs, workers, LIMITS)).outputs;

  const dataDir = '.tmp/bench-grid';
  const coordinator = await startCoordinatorProcess({ port: 18180, dataDir, adminKey: BENCH_ADMIN_KEY });
  const host = await serveHostPages(18182, coordinator.url);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: [...chromiumArgs] });
  try {
    const api = apiClient(coordinator.url, BENCH_ADMIN_KEY);
    const siteKey = await api.createSite(['http://localhost:18182']);
    const hash = await api.uploadModule(primes);
    const context = await browser.newContext();
    // The frame's pool defaults to cores - 1; the comparison needs the same worker count as native.
    await context.addInitScript(`Object.defineProperty(Navigator.prototype, 'hardwareConcurrency', { get: () => ${workers + 1} })`);
    const page = await context.newPage();
    await page.goto(hostPageUrl(siteKey, 'http://localhost:18182'));
    await allowSharing(page);
    // Warm up: the volunteer is connected, the module fetched, verified and compiled.
    const warm = await api.createJob({ module: hash, inputs: [encodePrimesInput(0, 1000)] });
    await waitDone(api, warm, 50);
    const dbFile = `${dataDir}/sparecycles.db`;

    // First as a visitor who changed nothing: the default share, rests included.
    const nativeBeforeDefault = await nativeRun();
    const atDefault = await timeGridJob(api, dbFile, hash, inputs, expected);

    // Then "Full (100%)" in the control, clicked inside the frame (a click in the host page would
    // pause the pool for a few seconds as the visitor's own activity).
    await chooseShare(page, /100/);
    const control = embedFrame(page);
    await expect(control.locator('select')).toHaveValue('1');
    await expect(control.locator('[data-paused]')).toHaveAttribute('data-paused', '');
    // The last task's rest at the default share runs out before the next job is created.
    await sleep(atDefault.wallMs / tasks + 200);
    const rounds: { nativeMs: number; nativeCpuMs: number; grid: GridRun; ratio: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const native = await nativeRun();
      const grid = await timeGridJob(api, dbFile, hash, inputs, expected);
      rounds.push({ nativeMs: native.wallMs, nativeCpuMs: native.cpuMsPerTask, grid, ratio: grid.wallMs / native.wallMs });
    }
    const ratios = rounds.map((r) => r.ratio);
    const mid = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(ROUNDS / 2)]!;

    const perWorker = tasks / workers;
    report({
      name: 'grid-vs-native',
      unit: 'ratio',
      value: round(mid.ratio, 3),
      detail: {
        workers,
        tasks,
        share: 1,
        rounds: ROUNDS,
        minRatio: round(Math.min(...ratios), 3),
        maxRatio: round(Math.max(...ratios), 3),
        taskMsNative: round(mid.nativeMs / perWorker, 1),
        nativeWallMs: round(mid.nativeMs, 0),
        gridWallMs: round(mid.grid.wallMs, 0),
        startLatencyMs: round(mid.grid.startLatencyMs, 0),
        steadyStateRatio: round((mid.grid.wallMs - mid.grid.startLatencyMs) / mid.nativeMs, 3),
        overheadPerTaskMs: round((mid.grid.wallMs - mid.grid.startLatencyMs - mid.nativeMs) / perWorker, 1),
        workerMsPerTask: round(mid.grid.workerMsPerTask, 1),
        nativeCpuMsPerTask: round(mid.nativeCpuMs, 1),
        gridCpuMsPerTask: round(mid.grid.cpuMsPerTask, 1),
        defaultShare: DEFAULT_SITE_LIMITS.defaultShare,
        defaultShareRatio: round(atDefault.wallMs / nativeBeforeDefault.wallMs, 3),
        defaultShareWallMs: round(atDefault.wallMs, 0),
        defaultShareWorkerMsPerTask: round(atDefault.workerMsPerTask, 1),
      },
    });
    await context.close();
  } finally {
    await browser.close();
    host.close();
    await coordinator.stop();
  }
}

async function throughput(primes: Uint8Array, volunteers: number, tasks: number): Promise<void> {
  const coordinator = await startCoordinatorProcess({ port: 18190, dataDir: '.tmp/bench-throughput', adminKey: BENCH_ADMIN_KEY });
  const agents: Awaited<ReturnType<typeof startNodeVolunteer>>[] = [];
  try {
    const api = apiClient(coordinator.url, BENCH_ADMIN_KEY);
    const siteKey = await api.createSite(['http://localhost:18192']);
    const hash = await api.uploadModule(primes);
    for (let i = 0; i < volunteers; i++) {
      agents.push(await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1, execution: 'inline' }));
    }
    const warm = await api.createJob({ module: hash, inputs: Array.from({ length: volunteers }, () => encodePrimesInput(0, 10)) });
    await waitDone(api, warm, 50);

    const inputs = Array.from({ length: tasks }, (_, i) => encodePrimesInput(i * 20, i * 20 + 20));
    const pid = coordinator.child.pid ?? 0;
    const cpuBefore = await processCpuMs(pid);
    const started = performance.now();
    const jobId = await api.createJob({ module: hash, inputs });
    await waitDone(api, jobId, 25);
    const wallMs = performance.now() - started;
    const cpuAfter = await processCpuMs(pid);

    const coordinatorCpuMs = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
    report({
      name: 'agent-results-per-second',
      unit: 'results/s',
      value: round(tasks / (wallMs / 1000), 0),
      detail: {
        volunteers,
        tasks,
        wallMs: round(wallMs, 0),
        coordinatorCpuMsPerResult: coordinatorCpuMs === undefined ? null : round(coordinatorCpuMs / tasks, 3),
        coordinatorCpuShare: coordinatorCpuMs === undefined ? null : round(coordinatorCpuMs / wallMs, 2),
      },
    });
  } finally {
    await Promise.all(agents.map((agent) => agent.stop()));
    await coordinator.stop();
  }
}


const machine = describeMachine(chromiumPath);
const primes = new Uint8Array(await readFile(taskWasmPath('primes')));
const workers = os.availableParallelism();

const steps: Record<string, () => Promise<void>> = {
  'grid-vs-native': () => gridVersusNative(primes, workers),
  'results-per-second': async () =>
    report(await throughputVersusBare(primes, { volunteers: 50, slots: 8, batch: true, warmupMs: 2000, windowMs: 5000, tasks: 100_000 })),
  'sqlite-write-floor': async () => report(await writeFloor()),
  'postgres-results-per-second': async () =>
    report(await throughputOnPostgres(primes, { volunteers: 50, slots: 8, batch: true, warmupMs: 2000, windowMs: 5000, tasks: 20_000 })),
  'agent-results-per-second': () => throughput(primes, 50, 3000),
  'failover-latency': async () => report(await failover(primes, 10)),
  'replication-throughput': async () => report(await replicationThroughput(primes, await calibrate(primes, 50), 120, workers)),
  'adaptive-replication-overhead': async () =>
    report(await adaptiveOverhead(primes, { width: await calibrate(primes, 3), warmup: 300, tasks: 600, volunteers: 4, liars: 0 })),
  'adaptive-replication-with-liars': async () =>
    report(await adaptiveOverhead(primes, { width: await calibrate(primes, 3), warmup: 300, tasks: 600, volunteers: 4, liars: 1 })),
  'accept-1m-inputs': async () => report(await acceptInputs(primes, 1_000_000)),
  'crowd-at-once': async () => report(await crowd(20_000)),
  'idle-connections': async () => (await idleConnections({ volunteers: 50_000 })).forEach(report),
  'flood-honest-share': async () => report(await floodShares({ short: 7, results: 5 })),
};
// `npm run bench -- --only a,b` runs some figures and prints them without rewriting the report.
const only = process.argv.includes('--only') ? (process.argv[process.argv.indexOf('--only') + 1] ?? '').split(',') : undefined;
const unknown = (only ?? []).filter((name) => !(name in steps));
if (unknown.length > 0) throw new Error(`unknown figure ${unknown.join(', ')}; known: ${Object.keys(steps).join(', ')}`);
for (const [name, step] of Object.entries(steps)) if (!only || only.includes(name)) await step();
if (!only) {
  await mkdir('docs', { recursive: true });
  // The hot path's profile reading is kept by hand beside the benchmark (profiles are read, not generated).
  const hotPath = await readFile('bench/hot-path-profile.md', 'utf8');
  await writeFile('docs/benchmarks.md', `${renderReport(machine, figures, new Date())}\n${hotPath}`);
  console.log('wrote docs/benchmarks.md');
}

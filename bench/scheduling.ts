/**
 * The scheduler's figures for `npm run bench`, each against a real coordinator process with real
 * Node volunteers over Socket.IO:
 *  - failover: from a volunteer's connection dropping mid-task to its task running on another;
 *  - replication throughput: the same CPU-bound job at r = 1, and at r = q = 2 with adaptive
 *    replication off (every task computed twice) and on;
 *  - adaptive replication at steady state: r = q = 2 with volunteers that earned trust in a
 *    warm-up job; the extra replicas (and their CPU) over the tasks accepted, every result
 *    checked against the reference; and the same with always-lying volunteers among them.
 */
import { startNodeVolunteer, type NodeVolunteer } from '../client/src/agent/index.ts';
import type { VolunteerStats } from '../client/src/runtime/volunteer-loop.ts';
import { encodePrimesInput } from '../wasm/tasks/primes/codec.ts';
import { startCoordinatorProcess, type CoordinatorProcess } from '../e2e/support/coordinator-process.ts';
import { readJobLeases } from '../e2e/support/chaos-db.ts';
import { chaosApi, primeInputs, primeRanges, primesProblems, waitForJobSettled, waitUntil, type ChaosApi } from '../e2e/support/chaos-jobs.ts';
import { startLiar, type Liar } from '../e2e/support/chaos-volunteers.ts';
import { BENCH_ADMIN_KEY, median, round } from './common.ts';
import type { Figure } from './report.ts';


interface Grid {
  coordinator: CoordinatorProcess;
  api: ChaosApi;
  siteKey: string;
  primes: string;
  dbFile: string;
}

async function withGrid<T>(port: number, name: string, primes: Uint8Array, run: (grid: Grid) => Promise<T>): Promise<T> {
  const dataDir = `.tmp/bench-${name}`;
  const coordinator = await startCoordinatorProcess({ port, dataDir, adminKey: BENCH_ADMIN_KEY });
  try {
    const api = chaosApi(coordinator.url, BENCH_ADMIN_KEY);
    const siteKey = await api.createSite([`http://localhost:${port + 2}`]);
    const hash = await api.uploadModule(primes);
    return await run({ coordinator, api, siteKey, primes: hash, dbFile: `${dataDir}/sparecycles.db` });
  } finally {
    await coordinator.stop();
  }
}

/** A volunteer whose every stats change is kept with its time, so a test can see when work began. */
interface Watched {
  volunteer: NodeVolunteer;
  /** The first time at or after `since` that it was running a task, if it has been. */
  runningSince(since: number): number | undefined;
}

async function watchedVolunteer(url: string, siteKey: string, execution: 'threads' | 'inline'): Promise<Watched> {
  const changes: { at: number; stats: VolunteerStats }[] = [];
  const volunteer = await startNodeVolunteer({
    url,
    siteKey,
    workers: 1,
    execution,
    onStats: (stats) => changes.push({ at: performance.now(), stats }),
  });
  return {
    volunteer,
    runningSince: (since) => changes.find((change) => change.at >= since && change.stats.running > 0)?.at,
  };
}


/**
 * Two idle volunteers; a one-task job goes to one of them; its connection is closed without
 * Socket.IO's goodbye (as when a tab is closed or a process killed). The figure is the time until
 * the other one has the task in hand: the coordinator's release, its `work` wake-up, the other's
 * lease request and answer. (A network that goes silent without closing anything is noticed by the
 * heartbeat instead, within 30 s.)
 */
export async function failover(primes: Uint8Array, trials: number): Promise<Figure> {
  return withGrid(18200, 'failover', primes, async ({ coordinator, api, siteKey, primes: hash }) => {
    const a = await watchedVolunteer(coordinator.url, siteKey, 'threads');
    const b = await watchedVolunteer(coordinator.url, siteKey, 'threads');
    const latencies: number[] = [];
    const stopped: number[] = [];
    try {
      for (let trial = 0; trial < trials; trial++) {
        // One task of a few seconds: it is surely still running when its volunteer drops.
        const jobId = await api.createJob({ module: hash, inputs: [encodePrimesInput(1_000_000_000, 1_004_000_000)], deadlineMs: 600_000 });
        let holder: Watched | undefined;
        await waitUntil(
          () => {
            holder = [a, b].find((w) => w.volunteer.stats().running > 0);
            return holder !== undefined;
          },
          10_000,
          () => 'nobody took the task',
        );
        const other = holder === a ? b : a;
        // Let the other's empty lease answer arrive: it is idle, waiting for `work`.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const droppedAt = performance.now();
        holder!.volunteer.disconnect();
        await waitUntil(() => other.runningSince(droppedAt) !== undefined, 10_000, () => 'the task never moved');
        latencies.push(other.runningSince(droppedAt)! - droppedAt);
        await api.cancelJob(jobId);
        const reconnectedAt = performance.now();
        holder!.volunteer.reconnect();
        // The reconnected holder is told that its new connection adopted nothing (the coordinator
        // took the lease back when the old one dropped): it stops the task instead of finishing
        // it for nobody (several seconds of the visitor's CPU).
        await waitUntil(() => holder!.volunteer.stats().running === 0, 5_000, () => 'the reconnected holder still runs its released task');
        stopped.push(performance.now() - reconnectedAt);
        await waitUntil(() => other.volunteer.stats().running === 0, 10_000, () => 'the cancelled task still runs');
      }
    } finally {
      await a.volunteer.stop();
      await b.volunteer.stop();
    }
    return {
      name: 'failover-latency',
      unit: 'ms (median)',
      value: round(median(latencies), 1),
      detail: {
        trials,
        minMs: round(Math.min(...latencies), 1),
        maxMs: round(Math.max(...latencies), 1),
        goalMs: 1000,
        // From the holder's reconnect to its released task stopped (median).
        releasedTaskStoppedMs: round(median(stopped), 1),
      },
    };
  });
}

/** Runs `job` to the end on `volunteers` fresh volunteers; wall time and the job's leases. */
async function timedJob(
  grid: Grid,
  volunteers: NodeVolunteer[],
  job: { inputs: Uint8Array[]; redundancy?: number; quorum?: number; adaptiveReplication?: boolean },
): Promise<{ wallMs: number; jobId: string }> {
  const started = performance.now();
  const jobId = await grid.api.createJob({ module: grid.primes, deadlineMs: 120_000, ...job });
  const status = await waitForJobSettled(grid.api, jobId, {
    timeoutMs: 300_000,
    context: () => volunteers.map((v) => JSON.stringify(v.stats())).join('\n'),
  });
  if (status.counts.completed !== job.inputs.length) throw new Error(`job ${jobId} ended ${JSON.stringify(status.counts)}`);
  return { wallMs: performance.now() - started, jobId };
}

async function startVolunteers(grid: Grid, count: number, execution: 'threads' | 'inline'): Promise<NodeVolunteer[]> {
  const started: NodeVolunteer[] = [];
  for (let i = 0; i < count; i++) started.push(await startNodeVolunteer({ url: grid.coordinator.url, siteKey: grid.siteKey, workers: 1, execution }));
  return started;
}

/** From the job's first lease to its last answer, by the coordinator's clock (no polling in it). */
function busySpanMs(grid: Grid, jobId: string): number {
  const leases = readJobLeases(grid.dbFile, jobId);
  const first = Math.min(...leases.map((lease) => lease.issuedAt));
  const last = Math.max(...leases.map((lease) => lease.endedAt ?? lease.issuedAt));
  return last - first;
}

/**
 * The same CPU-bound job at r = 1, at r = q = 2 with adaptive replication off (every task
 * computed twice), and at r = q = 2 with it on, each on fresh volunteers (one per core, threads).
 * Rates are timed from the lease rows, so neither start-up nor the status poll is in them.
 */
export async function replicationThroughput(primes: Uint8Array, width: number, tasks: number, cores: number): Promise<Figure> {
  return withGrid(18210, 'replication', primes, async (grid) => {
    const ranges = primeRanges(tasks, width, 1_000_000_000);
    const runs = { r1: { redundancy: 1, adaptiveReplication: true }, r2: { redundancy: 2, adaptiveReplication: false }, r2adaptive: { redundancy: 2, adaptiveReplication: true } };
    const rates: Record<string, number> = {};
    const replicas: Record<string, number> = {};
    for (const [name, { redundancy, adaptiveReplication }] of Object.entries(runs)) {
      const volunteers = await startVolunteers(grid, Math.max(2, cores), 'threads');
      try {
        const { jobId } = await timedJob(grid, volunteers, { inputs: primeInputs(ranges), redundancy, quorum: redundancy, adaptiveReplication });
        const problems = primesProblems(await grid.api.jobResults(jobId), ranges);
        if (problems.length > 0) throw new Error(`${name}: ${problems.slice(0, 3).join('; ')}`);
        rates[name] = tasks / (busySpanMs(grid, jobId) / 1000);
        replicas[name] = readJobLeases(grid.dbFile, jobId).filter((lease) => lease.state === 'completed').length / tasks;
      } finally {
        await Promise.all(volunteers.map((v) => v.stop()));
      }
    }
    return {
      name: 'replication-throughput',
      unit: 'ratio r2/r1',
      value: round(rates['r2']! / rates['r1']!, 3),
      detail: {
        tasks,
        volunteers: Math.max(2, cores),
        tasksPerSecondR1: round(rates['r1']!, 1),
        tasksPerSecondR2: round(rates['r2']!, 1),
        replicasPerTaskR2: round(replicas['r2']!, 2),
        tasksPerSecondR2Adaptive: round(rates['r2adaptive']!, 1),
        replicasPerTaskR2Adaptive: round(replicas['r2adaptive']!, 2),
        adaptiveRatio: round(rates['r2adaptive']! / rates['r1']!, 3),
      },
    };
  });
}

/**
 * Adaptive replication at steady state: `volunteers` honest volunteers earn trust on a warm-up job
 * at r = q = 2, then a measured job at r = q = 2 runs on them. Overhead is the replicas computed
 * beyond one per task (by count and by their CPU time); every accepted result is checked.
 */
export async function adaptiveOverhead(
  primes: Uint8Array,
  options: { width: number; warmup: number; tasks: number; volunteers: number; liars: number },
): Promise<Figure> {
  const { width, warmup, tasks, volunteers: volunteerCount, liars: liarCount } = options;
  return withGrid(liarCount > 0 ? 18230 : 18220, liarCount > 0 ? 'adaptive-liars' : 'adaptive', primes, async (grid) => {
    const volunteers = await startVolunteers(grid, volunteerCount, 'inline');
    const liars: Liar[] = [];
    try {
      await timedJob(grid, volunteers, { inputs: primeInputs(primeRanges(warmup, width, 2_000_000_000)), redundancy: 2, quorum: 2 });
      // Liars join for the measured job, with clean records: what they cost from their first lie.
      for (let i = 0; i < liarCount; i++) liars.push(await startLiar({ url: grid.coordinator.url, siteKey: grid.siteKey, offset: i + 1 }));
      const ranges = primeRanges(tasks, width, 1_000_000_000);
      const { jobId } = await timedJob(grid, volunteers, { inputs: primeInputs(ranges), redundancy: 2, quorum: 2 });
      const wrong = primesProblems(await grid.api.jobResults(jobId), ranges).length;
      if (wrong > 0) throw new Error(`${wrong} wrong or missing results`);

      const leases = readJobLeases(grid.dbFile, jobId);
      const computed = leases.filter((lease) => lease.state === 'completed');
      const acceptedCpu = new Map<number, number>();
      for (const lease of computed) {
        if (lease.verdict === 'valid' || lease.verdict === 'unchecked') {
          if (!acceptedCpu.has(lease.taskIdx)) acceptedCpu.set(lease.taskIdx, lease.cpuMs ?? 0);
        }
      }
      const cpuAll = computed.reduce((sum, lease) => sum + (lease.cpuMs ?? 0), 0);
      const cpuNeeded = [...acceptedCpu.values()].reduce((sum, ms) => sum + ms, 0);
      const records = await Promise.all(volunteers.map((v) => grid.api.volunteer(v.volunteerId)));
      const liarRecords = await Promise.all(liars.map((liar) => grid.api.volunteer(liar.volunteerId)));
      return {
        name: liarCount > 0 ? 'adaptive-replication-with-liars' : 'adaptive-replication-overhead',
        unit: '% extra replicas',
        value: round(((computed.length - tasks) / tasks) * 100, 1),
        detail: {
          tasks,
          warmupTasks: warmup,
          volunteers: volunteerCount,
          liars: liarCount,
          liarReplicas: computed.filter((lease) => liars.some((liar) => liar.volunteerId === lease.volunteerId)).length,
          liarQuota: liarRecords.length > 0 ? Math.max(...liarRecords.map((record) => record.quota)) : null,
          replicasComputed: computed.length,
          // Taken back unanswered (a quorum reached first): work possibly begun, not counted above.
          replicasRevoked: leases.filter((lease) => lease.state === 'revoked').length,
          singleReplicaTasks: computed.filter((lease) => lease.verdict === 'unchecked').length,
          extraCpuPercent: cpuNeeded > 0 ? round(((cpuAll - cpuNeeded) / cpuNeeded) * 100, 1) : null,
          medianTrustRun: median(records.map((record) => record.consecutiveValid)),
          wrongAccepted: wrong,
          goalPercent: 10,
        },
      };
    } finally {
      await Promise.all([...volunteers, ...liars].map((v) => v.stop()));
    }
  });
}

/**
 * Chaos 4: a volunteer that never answers. It takes every lease it is granted and sits on them.
 * Its leases expire at deadline + grace (a counted `timeout`), are leased again to an honest
 * volunteer that finishes the job exactly, its quota halves with each expiry down to one lease at
 * a time, and its expiries are strikes that keep it cooling down between leases.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startNodeVolunteer, type NodeVolunteer } from '../../client/src/agent/index.ts';
import type { TestCoordinator } from '../../server/src/http/testing.ts';
import { startChaosGrid } from '../support/chaos-grid.ts';
import { COOLDOWN, DEFAULT_QUOTA } from '../../server/src/scheduler/reputation.ts';
import { readJobLeases } from '../support/chaos-db.ts';
import { primeInputs, primeRanges, primesProblems, waitForJobSettled, waitUntil, type ChaosApi } from '../support/chaos-jobs.ts';
import { startHoarder, type Hoarder } from '../support/chaos-volunteers.ts';

const DEADLINE_MS = 1_000;

let coordinator: TestCoordinator;
let api: ChaosApi;
let siteKey: string;
let primes: string;
let hoarder: Hoarder | undefined;
let honest: NodeVolunteer | undefined;

beforeEach(async () => {
  ({ coordinator, api, siteKey, primes } = await startChaosGrid());
});

afterEach(async () => {
  await hoarder?.stop();
  await honest?.stop();
  hoarder = honest = undefined;
  await coordinator.close();
});

it('a volunteer that never answers: its leases expire and are re-leased, its quota shrinks to one, and it cools down', async () => {
  const dbFile = `${coordinator.dir}/sparecycles.db`;
  const ranges = primeRanges(30, 20_000, 1_000_000_000);
  // Attempts to spare: an expiry counts as one, and the hoarder keeps asking.
  const jobId = await api.createJob({ module: primes, inputs: primeInputs(ranges), deadlineMs: DEADLINE_MS, maxAttempts: 10 });

  // It announces 8 workers: the prefetch bound (16) would let it take 16 leases, but a new
  // volunteer holds only its initial quota (2) until it earns more with accepted results.
  hoarder = await startHoarder({ url: coordinator.url, siteKey, workers: 8, everyMs: 200 });
  const firstWave = DEFAULT_QUOTA.initial;
  await waitUntil(() => hoarder!.grants.length >= firstWave, 5_000, () => `the hoarder got ${hoarder?.grants.length} leases`);
  const hoarded = new Set(hoarder.grants.slice(0, firstWave).map((grant) => grant.lease.leaseId));

  honest = await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 });
  const status = await waitForJobSettled(api, jobId, { timeoutMs: 45_000 });
  expect(status.counts).toMatchObject({ total: ranges.length, completed: ranges.length, failed: 0 });
  const results = await api.jobResults(jobId);
  expect(primesProblems(results, ranges)).toEqual([]);

  // Each hoarded lease expired (none completed), and its task was finished by the honest volunteer.
  const leases = readJobLeases(dbFile, jobId);
  const mine = leases.filter((lease) => lease.volunteerId === hoarder!.volunteerId);
  expect(mine.filter((lease) => lease.state === 'completed')).toEqual([]);
  const firstWaveLeases = mine.filter((lease) => hoarded.has(lease.id));
  expect(firstWaveLeases).toHaveLength(firstWave);
  for (const lease of firstWaveLeases) {
    expect(lease.state, `lease ${lease.id}`).toBe('expired');
    // Taken back by expiry only: not before its deadline.
    expect((lease.endedAt ?? 0) - lease.issuedAt, `lease ${lease.id}`).toBeGreaterThanOrEqual(DEADLINE_MS);
    const history = results[lease.taskIdx]?.errors ?? [];
    expect(history.map((error) => error.kind), `task ${lease.taskIdx}`).toContain('timeout');
    const finisher = leases.find((other) => other.taskIdx === lease.taskIdx && other.state === 'completed');
    expect(finisher?.volunteerId, `task ${lease.taskIdx}`).toBe(honest.volunteerId);
  }
  const record = await api.volunteer(hoarder.volunteerId);
  expect(record).toMatchObject({ quota: 1, valid: 0, unchecked: 0 });
  expect(record.errors).toBeGreaterThanOrEqual(firstWave);
  // Its expiries were strikes (one per batch of leases issued together).
  expect(record.strikes).toBeGreaterThanOrEqual(1);

  // Throttled: the honest volunteer gone, a fresh job, and the hoarder still asking five times a
  // second. It holds one lease at a time, and after each expiry it waits out a cool-down before
  // the next.
  await honest.stop();
  honest = undefined;
  const struck = record.strikes;
  const next = await api.createJob({ module: primes, inputs: primeInputs(primeRanges(8, 20_000, 2_000_000_000)), deadlineMs: DEADLINE_MS, maxAttempts: 20 });
  const mineOf = () => readJobLeases(dbFile, next).filter((lease) => lease.volunteerId === hoarder!.volunteerId);
  await waitUntil(() => mineOf().length >= 2, 40_000, () => `the hoarder got ${mineOf().length} leases of the fresh job`);
  const [first, second] = mineOf();
  expect(first!.state).toBe('expired');
  expect(second!.issuedAt).toBeGreaterThanOrEqual(first!.endedAt ?? Infinity);
  expect(second!.issuedAt - first!.endedAt!).toBeGreaterThanOrEqual(COOLDOWN.baseMs);
  expect((await api.volunteer(hoarder.volunteerId)).strikes).toBeGreaterThan(struck);
  await api.cancelJob(next);
}, 150_000);

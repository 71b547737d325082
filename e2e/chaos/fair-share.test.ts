/**
 * Chaos 7: fair share between jobs, end to end. A small job submitted behind a huge one gets
 * volunteers within a second or two instead of waiting for the huge one to drain, and two jobs of
 * priorities 3 and 1 share the volunteers about 3 to 1 while both have work.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startNodeVolunteer, type NodeVolunteer } from '../../client/src/agent/index.ts';
import type { TestCoordinator } from '../../server/src/http/testing.ts';
import { startChaosGrid } from '../support/chaos-grid.ts';
import { readJobLeases } from '../support/chaos-db.ts';
import { primeInputs, primeRanges, primesProblems, waitForJobSettled, waitUntil, type ChaosApi } from '../support/chaos-jobs.ts';

let coordinator: TestCoordinator;
let api: ChaosApi;
let siteKey: string;
let primes: string;
let dbFile: string;
const volunteers: NodeVolunteer[] = [];

beforeEach(async () => {
  ({ coordinator, api, siteKey, primes, dbFile } = await startChaosGrid());
  for (let i = 0; i < 2; i++) volunteers.push(await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 }));
});

afterEach(async () => {
  for (const volunteer of volunteers.splice(0)) await volunteer.stop();
  await coordinator.close();
});

// About a quarter of a second per task.
const WIDTH = 200_000;

it('a small job submitted behind a huge one completes within seconds, exactly', async () => {
  const huge = await api.createJob({ module: primes, inputs: primeInputs(primeRanges(400, WIDTH, 1_000_000_000)) });
  await waitUntil(async () => (await api.jobStatus(huge)).counts.completed >= 4, 20_000, () => 'the huge job never got going');

  // Numbers of the same magnitude as the huge job's: trial division costs grow with √n.
  const ranges = primeRanges(3, WIDTH, 1_000_000_000 + 400 * WIDTH);
  const submitted = Date.now();
  const small = await api.createJob({ module: primes, inputs: primeInputs(ranges) });
  const status = await waitForJobSettled(api, small, { timeoutMs: 30_000 });
  const tookMs = Date.now() - submitted;
  expect(status.counts).toMatchObject({ completed: 3, failed: 0 });
  expect(primesProblems(await api.jobResults(small), ranges)).toEqual([]);
  // Each volunteer finishes what it holds (one running, one queued) and then serves the small job:
  // about a second here, where draining the huge job first would take 50 s.
  expect(tookMs).toBeLessThan(10_000);
  expect((await api.jobStatus(huge)).counts.pending).toBeGreaterThan(300);
});

it('priorities 3 and 1 share the volunteers about 3 to 1 while both have work', async () => {
  const heavy = await api.createJob({ module: primes, inputs: primeInputs(primeRanges(200, WIDTH, 1_000_000_000)), priority: 3 });
  // The same magnitude of numbers, so tasks of both jobs cost the same.
  const light = await api.createJob({ module: primes, inputs: primeInputs(primeRanges(200, WIDTH, 1_000_000_000 + 200 * WIDTH)), priority: 1 });
  await waitUntil(async () => (await api.jobStatus(heavy)).counts.completed + (await api.jobStatus(light)).counts.completed >= 60, 60_000, () => 'too slow');
  await api.cancelJob(heavy);
  await api.cancelJob(light);

  // Leases issued after the first few (the start, before both jobs were seen by every claim).
  const issued = [...readJobLeases(dbFile, heavy).map((l) => ({ ...l, job: 'heavy' })), ...readJobLeases(dbFile, light).map((l) => ({ ...l, job: 'light' }))]
    .sort((a, b) => a.issuedAt - b.issuedAt)
    .slice(4);
  const heavyCount = issued.filter((lease) => lease.job === 'heavy').length;
  const lightCount = issued.length - heavyCount;
  expect(lightCount).toBeGreaterThan(0);
  const ratio = heavyCount / lightCount;
  expect(ratio, `${heavyCount} heavy against ${lightCount} light leases`).toBeGreaterThan(2);
  expect(ratio, `${heavyCount} heavy against ${lightCount} light leases`).toBeLessThan(4.5);
});

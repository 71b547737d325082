/**
 * Chaos 6: an author cancels a job while volunteers are in the middle of its tasks. The
 * coordinator revokes every live lease, the volunteers terminate those tasks within seconds (long
 * before they would have finished), and every task that had not completed ends `cancelled`.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startNodeVolunteer, type NodeVolunteer } from '../../client/src/agent/index.ts';
import type { TestCoordinator } from '../../server/src/http/testing.ts';
import { startChaosGrid } from '../support/chaos-grid.ts';
import { readJobLeases } from '../support/chaos-db.ts';
import { primeInputs, primeRanges, waitUntil, type ChaosApi } from '../support/chaos-jobs.ts';

let coordinator: TestCoordinator;
let api: ChaosApi;
let siteKey: string;
let primes: string;
let dbFile: string;
const volunteers: NodeVolunteer[] = [];

beforeEach(async () => {
  ({ coordinator, api, siteKey, primes, dbFile } = await startChaosGrid());
});

afterEach(async () => {
  for (const volunteer of volunteers.splice(0)) await volunteer.stop();
  await coordinator.close();
});

it('cancelling a job revokes its leases: volunteers drop the work at once and no task is left open', async () => {
  // Tasks of about half a minute each: a volunteer that stopped running them within seconds of the
  // cancel was told to, it did not finish them.
  const ranges = primeRanges(6, 20_000_000, 1_000_000_000);
  const jobId = await api.createJob({ module: primes, inputs: primeInputs(ranges), deadlineMs: 600_000 });
  for (let i = 0; i < 2; i++) volunteers.push(await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 }));
  await waitUntil(() => volunteers.every((v) => v.stats().running === 1), 10_000, () => 'both volunteers running a task');

  const cancelledAt = Date.now();
  const status = await api.cancelJob(jobId);
  expect(status).toMatchObject({ state: 'cancelled' });
  await waitUntil(
    () => volunteers.every((v) => v.stats().running === 0 && v.stats().queued === 0),
    3_000,
    () => `still working after the cancel: ${volunteers.map((v) => JSON.stringify(v.stats())).join(' ')}`,
  );
  for (const volunteer of volunteers) expect(volunteer.stats().revoked).toBeGreaterThanOrEqual(1);

  const after = await api.jobStatus(jobId);
  expect(after.counts).toMatchObject({ total: ranges.length, pending: 0, running: 0, completed: 0, cancelled: ranges.length });
  const lines = await api.jobResults(jobId);
  expect(lines.map((line) => line.state)).toEqual(ranges.map(() => 'cancelled'));
  // Every lease the job ever had ended revoked: none is live, none completed.
  const leases = readJobLeases(dbFile, jobId);
  expect(leases.length).toBeGreaterThanOrEqual(2);
  expect(leases.map((lease) => lease.state)).toEqual(leases.map(() => 'revoked'));
});

/**
 * Chaos 2: liars. Three of ten volunteers (30%) run the real runtime but send back wrong counts,
 * each its own way. With redundancy = quorum = 2 no wrong result is accepted: every task's output
 * is the independent sieve's, and the liars' records show what they did.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startNodeVolunteer, type NodeVolunteer } from '../../client/src/agent/index.ts';
import type { TestCoordinator } from '../../server/src/http/testing.ts';
import { startChaosGrid } from '../support/chaos-grid.ts';
import { DEFAULT_QUOTA, TRUST_AFTER } from '../../server/src/scheduler/reputation.ts';
import { readJobLeases } from '../support/chaos-db.ts';
import { primeInputs, primeRanges, primesProblems, waitForJobSettled, type ChaosApi } from '../support/chaos-jobs.ts';
import { startLiar, type Liar } from '../support/chaos-volunteers.ts';

const HONEST = 7;
const LIARS = 3;

let coordinator: TestCoordinator;
let api: ChaosApi;
let siteKey: string;
let primes: string;
const honest: NodeVolunteer[] = [];
const liars: Liar[] = [];

beforeEach(async () => {
  ({ coordinator, api, siteKey, primes } = await startChaosGrid());
});

afterEach(async () => {
  for (const volunteer of [...honest.splice(0), ...liars.splice(0)]) await volunteer.stop();
  await coordinator.close();
});

it('30% liars, r = q = 2: zero wrong results accepted, and the liars lose trust and quota', async () => {
  // Liars first, so they are connected and asking when the job arrives and get their share.
  for (let i = 0; i < LIARS; i++) liars.push(await startLiar({ url: coordinator.url, siteKey, offset: i + 1 }));
  for (let i = 0; i < HONEST; i++) {
    honest.push(await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1, execution: 'inline' }));
  }

  const ranges = primeRanges(60, 5_000, 1_000_000_000);
  const jobId = await api.createJob({ module: primes, inputs: primeInputs(ranges), redundancy: 2, quorum: 2, maxAttempts: 3 });
  const status = await waitForJobSettled(api, jobId, {
    timeoutMs: 60_000,
    context: () => liars.map((liar) => `liar ${liar.volunteerId}: ${JSON.stringify(liar.stats())}`).join('\n'),
  });
  expect(status.counts).toMatchObject({ total: ranges.length, completed: ranges.length, failed: 0 });
  expect(primesProblems(await api.jobResults(jobId), ranges)).toEqual([]);

  // The liars did take part: their results were compared, and every one was judged invalid.
  const liarIds = new Set(liars.map((liar) => liar.volunteerId));
  const leases = readJobLeases(`${coordinator.dir}/sparecycles.db`, jobId);
  const liarAnswers = leases.filter((lease) => liarIds.has(lease.volunteerId) && lease.state === 'completed');
  expect(liarAnswers.length).toBeGreaterThanOrEqual(LIARS);
  for (const lease of liarAnswers) expect(lease.verdict, `lease ${lease.id} of task ${lease.taskIdx}`).toBe('invalid');
  // Every task was accepted on two agreeing replicas from distinct honest volunteers, or (adaptive
  // replication) on one replica of an honest volunteer that had earned trust; never on a liar's.
  for (let index = 0; index < ranges.length; index++) {
    const valid = leases.filter((lease) => lease.taskIdx === index && lease.verdict === 'valid');
    const unchecked = leases.filter((lease) => lease.taskIdx === index && lease.verdict === 'unchecked');
    if (unchecked.length > 0) {
      expect({ valid: valid.length, unchecked: unchecked.length }, `task ${index}`).toEqual({ valid: 0, unchecked: 1 });
    } else {
      expect(new Set(valid.map((lease) => lease.volunteerId)).size, `task ${index}`).toBeGreaterThanOrEqual(2);
    }
    for (const lease of [...valid, ...unchecked]) expect(liarIds.has(lease.volunteerId), `task ${index}`).toBe(false);
  }

  for (const liar of liars) {
    const record = await api.volunteer(liar.volunteerId);
    const answered = liarAnswers.filter((lease) => lease.volunteerId === liar.volunteerId).length;
    expect(answered, `liar ${liar.volunteerId} answered`).toBeGreaterThan(0);
    expect(record).toMatchObject({ valid: 0, invalid: answered, consecutiveValid: 0, trusted: false });
    expect(record.quota).toBeLessThan(DEFAULT_QUOTA.initial);
  }
  for (const volunteer of honest) {
    const record = await api.volunteer(volunteer.volunteerId);
    expect(record.invalid, `honest ${volunteer.volunteerId}`).toBe(0);
    // Single replicas went only to volunteers that had first earned trust by agreeing results.
    if (record.unchecked > 0) expect(record.valid, `honest ${volunteer.volunteerId}`).toBeGreaterThanOrEqual(TRUST_AFTER);
  }
});

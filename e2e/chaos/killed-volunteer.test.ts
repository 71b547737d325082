/**
 * Chaos 1: a volunteer dies mid-task. A Node agent (a child process) is SIGKILLed while it holds
 * leases; the coordinator sees its socket close, releases those leases at once (recorded on the
 * tasks as `released`, not counted as attempts), and another volunteer finishes the job with
 * every result exact.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startNodeVolunteer, type NodeVolunteer } from '../../client/src/agent/index.ts';
import type { TestCoordinator } from '../../server/src/http/testing.ts';
import { startChaosGrid } from '../support/chaos-grid.ts';
import { startAgentProcess, type AgentProcess } from '../support/chaos-agent.ts';
import { readJobLeases } from '../support/chaos-db.ts';
import { primeInputs, primeRanges, primesProblems, waitForJobSettled, waitUntil, type ChaosApi } from '../support/chaos-jobs.ts';

let coordinator: TestCoordinator;
let api: ChaosApi;
let siteKey: string;
let primes: string;
let agent: AgentProcess | undefined;
let rescuer: NodeVolunteer | undefined;

beforeEach(async () => {
  ({ coordinator, api, siteKey, primes } = await startChaosGrid());
});

afterEach(async () => {
  await agent?.dispose();
  await rescuer?.stop();
  agent = rescuer = undefined;
  await coordinator.close();
});

it('a volunteer SIGKILLed while holding leases: they are released at once and the job completes exactly', async () => {
  // Tasks of about a quarter of a second each, and a deadline far beyond the test's patience:
  // only the release at disconnect can give the killed volunteer's tasks back in time.
  const ranges = primeRanges(12, 200_000, 1_000_000_000);
  const jobId = await api.createJob({ module: primes, inputs: primeInputs(ranges), deadlineMs: 600_000 });

  agent = await startAgentProcess({ url: coordinator.url, siteKey, workers: 1 });
  const killed = agent;
  const dbFile = join(coordinator.dir, 'sparecycles.db');
  const liveOf = (volunteerId: string) => readJobLeases(dbFile, jobId).filter((l) => l.volunteerId === volunteerId && l.state === 'active');
  // It holds its full prefetch (one running, one queued) and has finished at least one task, so
  // its worker is warm and surely in the middle of the next one.
  await waitUntil(
    () => liveOf(killed.volunteerId).length === 2 && readJobLeases(dbFile, jobId).some((l) => l.state === 'completed'),
    30_000,
    () => `the agent never held two leases after a result:\n${killed.output()}`,
  );
  // Frozen first, so what it holds cannot change between reading it and the kill.
  killed.child.kill('SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const held = liveOf(killed.volunteerId).map((lease) => lease.taskIdx);
  expect(held.length).toBeGreaterThan(0);
  await killed.kill();

  // The coordinator noticed the dead socket and released, without waiting for any deadline.
  await waitUntil(() => liveOf(killed.volunteerId).length === 0, 10_000, () => 'the killed volunteer still holds leases');
  const leases = readJobLeases(dbFile, jobId).filter((lease) => lease.volunteerId === killed.volunteerId);
  const released = leases.filter((lease) => lease.state === 'released').map((lease) => lease.taskIdx);
  expect(released.sort()).toEqual([...held].sort());

  rescuer = await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1 });
  const status = await waitForJobSettled(api, jobId, { timeoutMs: 45_000, context: () => JSON.stringify(rescuer?.stats()) });
  expect(status.counts).toMatchObject({ total: ranges.length, completed: ranges.length, failed: 0 });

  const results = await api.jobResults(jobId);
  expect(primesProblems(results, ranges)).toEqual([]);
  // The tasks it held say what happened to them, and that it did not cost them an attempt.
  for (const index of held) {
    const history = results[index]?.errors ?? [];
    expect(history.map((error) => error.kind), `task ${index}`).toEqual(['released']);
  }
  for (const line of results.filter((line) => !held.includes(line.index))) expect(line.errors ?? [], `task ${line.index}`).toEqual([]);
});

/**
 * Chaos 5: the coordinator itself dies. A real coordinator process is SIGKILLed twice in the
 * middle of a job and started again on the same data, as a supervisor would. Its volunteers, a
 * Node agent and a browser tab (Chromium, the embed on another origin), reconnect by themselves,
 * adopt the leases they held, send the results they finished while it was down, and the job ends
 * with every result present once and correct.
 */
import type { Server } from 'node:http';
import { chromium, type Browser } from '@playwright/test';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startNodeVolunteer, type NodeVolunteer } from '../../client/src/agent/index.ts';
import { freePort } from '../../server/src/http/testing.ts';
import { hostPageUrl } from '../support/api.ts';
import { startChaosCoordinator, type ChaosCoordinator } from '../support/chaos-coordinator.ts';
import { countByTask, readJobLeases } from '../support/chaos-db.ts';
import { chaosApi, primeInputs, primeRanges, primesProblems, waitForJobSettled, waitUntil, type ChaosApi } from '../support/chaos-jobs.ts';
import { chromiumArgs, chromiumPath } from '../support/chromium.ts';
import { embedFrame, allowSharing } from '../support/frame.ts';
import { serveHostPages } from '../support/host-pages.ts';

const ADMIN_KEY = 'chaos-admin-key-0123456789';

let coordinator: ChaosCoordinator;
let host: Server | undefined;
let browser: Browser | undefined;
let agent: NodeVolunteer | undefined;

beforeEach(async () => {
  coordinator = await startChaosCoordinator({ port: await freePort(), adminKey: ADMIN_KEY });
});

afterEach(async () => {
  await agent?.stop();
  await browser?.close();
  host?.close();
  agent = browser = host = undefined;
  await coordinator.dispose();
});

async function completedCount(api: ChaosApi, jobId: string): Promise<number> {
  return (await api.jobStatus(jobId)).counts.completed;
}

it('SIGKILLed and restarted twice mid-job: the job completes, every result present once and correct', async () => {
  const api = chaosApi(coordinator.url, ADMIN_KEY);
  const hostPort = await freePort();
  const hostOrigin = `http://localhost:${hostPort}`;
  host = await serveHostPages(hostPort, coordinator.url);
  const siteKey = await api.createSite([hostOrigin]);
  const primes = await api.uploadBuiltModule('primes');

  // A browser volunteer: the visitor allows sharing on the host page.
  browser = await chromium.launch({ executablePath: chromiumPath, args: [...chromiumArgs] });
  const page = await browser.newPage();
  await page.goto(hostPageUrl(siteKey, hostOrigin));
  await allowSharing(page);
  agent = await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1, connectTimeoutMs: 30_000 });

  // Tasks of about a quarter of a second each. The deadline is far beyond any task, yet short
  // enough that a lease granted in the instant of a kill and never received (the restarted
  // process lets its volunteer adopt it) expires and is leased again within the test.
  const ranges = primeRanges(48, 200_000, 1_000_000_000);
  const jobId = await api.createJob({ module: primes, inputs: primeInputs(ranges), deadlineMs: 20_000 });
  const context = () => `agent: ${JSON.stringify(agent?.stats())}\ncoordinator:\n${coordinator.output()}`;

  const kills: number[] = [];
  const restarts: number[] = [];
  for (const share of [1 / 4, 1 / 2]) {
    await waitUntil(async () => (await completedCount(api, jobId)) >= ranges.length * share, 30_000, () => `progress stalled before ${share}\n${context()}`);
    // Mid-job: work remains for the restarted process.
    expect(await completedCount(api, jobId)).toBeLessThan(ranges.length);
    await coordinator.kill();
    kills.push(Date.now());
    // Down for a moment: running tasks finish meanwhile, and their results wait in the outboxes.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await coordinator.start();
    restarts.push(Date.now());
  }

  const status = await waitForJobSettled(api, jobId, { timeoutMs: 45_000, context });
  expect(coordinator.starts()).toBe(3);
  expect(status.counts).toMatchObject({ total: ranges.length, completed: ranges.length, failed: 0, cancelled: 0 });
  const results = await api.jobResults(jobId);
  expect(primesProblems(results, ranges)).toEqual([]);

  const leases = readJobLeases(coordinator.dbFile, jobId);
  // Accepted once: each task has exactly one accepted lease (redundancy 1: `unchecked`).
  const accepted = countByTask(leases, (lease) => lease.verdict === 'unchecked');
  for (let index = 0; index < ranges.length; index++) expect(accepted.get(index), `task ${index}`).toBe(1);
  expect(leases.filter((lease) => lease.verdict !== null && lease.verdict !== 'unchecked')).toEqual([]);
  // Both volunteers worked, and both came back by themselves after the last restart (each had
  // leases in hand at the kill, which it adopted and finished).
  const volunteers = new Set(leases.filter((lease) => lease.state === 'completed').map((lease) => lease.volunteerId));
  expect(volunteers.size).toBe(2);
  const lastRestart = restarts.at(-1) ?? 0;
  for (const id of volunteers) {
    expect(leases.some((lease) => lease.volunteerId === id && lease.state === 'completed' && (lease.endedAt ?? 0) > lastRestart), id).toBe(true);
  }
  // Work in flight at a kill was not thrown away: leases issued by a killed process were finished
  // after it (adopted on reconnect, or sent from the outbox).
  const carried = leases.filter(
    (lease) => lease.state === 'completed' && kills.some((at) => lease.issuedAt < at && (lease.endedAt ?? 0) > at),
  );
  expect(carried.length).toBeGreaterThan(0);
}, 150_000);

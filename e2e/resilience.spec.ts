/**
 * Work is never lost to a vanishing visitor or a runaway module: a volunteer that disconnects
 * mid-task has its task run elsewhere at once, and an infinite loop is stopped at its deadline by
 * terminating the worker, while the pool keeps working.
 */
import { expect, test } from '@playwright/test';
import { watToWasm } from '../wasm/testing/wat.ts';
import {
  cancelJob,
  createJob,
  createSite,
  hostPageUrl,
  jobResults,
  jobStatus,
  uploadBuiltModule,
  uploadModule,
} from './support/api.ts';
import { embedFrame, allowSharing } from './support/frame.ts';
import { expectPrimeResults, primeInputs, primeRanges, waitForJobDone } from './support/jobs.ts';
import { E2E } from './support/ports.ts';

/** A bytes-ABI module whose `run` never returns. */
const LOOP_FOREVER = `(module
  (memory (export "memory") 1 16)
  (func (export "alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "run") (param i32 i32) (result i32) (loop $spin (br $spin)) (i32.const 0)))`;

let siteKey = '';
let primes = '';
const jobs: string[] = [];

test.beforeAll(async () => {
  siteKey = await createSite([E2E.hostOrigin]);
  primes = await uploadBuiltModule('primes');
});

test.afterEach(async () => {
  for (const id of jobs.splice(0)) await cancelJob(id).catch(() => undefined);
});

test('a volunteer that disconnects mid-task: its task runs elsewhere, long before its deadline', async ({ browser }) => {
  // Tasks of a few hundred ms each; a deadline far beyond the test's patience, so only the
  // release at disconnect can explain the job finishing.
  const ranges = primeRanges(6, 400_000, 50_000_000);
  const jobId = await createJob({ module: primes, inputs: primeInputs(ranges), deadlineMs: 600_000 });
  jobs.push(jobId);

  const leaving = await browser.newContext();
  const leavingPage = await leaving.newPage();
  await leavingPage.goto(hostPageUrl(siteKey));
  await allowSharing(leavingPage);
  await expect.poll(async () => (await jobStatus(jobId)).counts.running, { timeout: 30_000 }).toBeGreaterThan(0);
  await leaving.close();

  const staying = await browser.newContext();
  const stayingPage = await staying.newPage();
  await stayingPage.goto(hostPageUrl(siteKey));
  await allowSharing(stayingPage);

  expect((await waitForJobDone(jobId, 60_000)).state).toBe('completed');
  await expectPrimeResults(jobId, ranges);
  // The task the first visitor held was given back, not silently dropped: its history says so.
  const results = await jobResults(jobId);
  expect(results.some((line) => (line.errors ?? []).length > 0)).toBe(true);
  await staying.close();
});

test('an infinite loop fails as `timeout` at its deadline, and the pool keeps working', async ({ page }) => {
  const loop = await uploadModule(await watToWasm(LOOP_FOREVER));
  const stuck = await createJob({ module: loop, inputs: [new Uint8Array([1])], deadlineMs: 1_500, maxAttempts: 1, priority: 10 });
  jobs.push(stuck);

  await page.goto(hostPageUrl(siteKey));
  await allowSharing(page);

  const stuckStatus = await waitForJobDone(stuck, 30_000);
  expect(stuckStatus.counts.failed).toBe(1);
  const [line] = await jobResults(stuck);
  expect(line?.state).toBe('failed');
  expect(line?.errors?.map((error) => error.kind)).toEqual(['timeout']);

  // The same page's pool (its looping worker replaced) finishes the next job.
  const ranges = primeRanges(8, 10_000);
  const next = await createJob({ module: primes, inputs: primeInputs(ranges) });
  jobs.push(next);
  expect((await waitForJobDone(next, 30_000)).state).toBe('completed');
  await expectPrimeResults(next, ranges);
});

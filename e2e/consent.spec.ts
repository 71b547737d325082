/**
 * Consent gating, end to end: the host page (localhost:18082 by default) embeds the snippet from the
 * coordinator (127.0.0.1:18080). Accept → the visitor's workers finish a whole job correctly;
 * decline → nothing beyond the banner is ever downloaded or run; the choice survives a reload.
 */
import { expect, test } from '@playwright/test';
import { cancelJob, createJob, createSite, hostPageUrl, jobStatus, uploadBuiltModule } from './support/api.ts';
import { embedFrame, isRuntimeTraffic, watchCoordinatorTraffic, allowSharing } from './support/frame.ts';
import {
  expectMandelbrotResults,
  expectPrimeResults,
  mandelbrotInputs,
  mandelbrotTiles,
  primeInputs,
  primeRanges,
  waitForJobDone,
} from './support/jobs.ts';
import { E2E } from './support/ports.ts';

let siteKey = '';
let mandelbrot = '';
let primes = '';
const jobs: string[] = [];

test.beforeAll(async () => {
  siteKey = await createSite([E2E.hostOrigin]);
  mandelbrot = await uploadBuiltModule('mandelbrot');
  primes = await uploadBuiltModule('primes');
});

test.afterEach(async () => {
  // Leave no runnable work behind for the next test's volunteer.
  for (const id of jobs.splice(0)) await cancelJob(id).catch(() => undefined);
});

async function submit(body: Parameters<typeof createJob>[0]): Promise<string> {
  const id = await createJob(body);
  jobs.push(id);
  return id;
}

test('accept: a job of 64 tiles completes and every tile equals the reference', async ({ page, context }) => {
  const tiles = mandelbrotTiles();
  expect(tiles.length).toBeGreaterThanOrEqual(50);
  const jobId = await submit({ module: mandelbrot, inputs: mandelbrotInputs(tiles) });
  const log = watchCoordinatorTraffic(context);

  await page.goto(hostPageUrl(siteKey));
  const frame = embedFrame(page);
  await allowSharing(page);

  const done = await waitForJobDone(jobId);
  expect(done.state).toBe('completed');
  expect(done.counts.completed).toBe(tiles.length);
  await expectMandelbrotResults(jobId, tiles);
  // The visitor's control shows the work it did.
  await expect(frame.locator('[data-completed]')).not.toHaveAttribute('data-completed', '0');
  // The traffic the decline tests must never see is visible to this log once consent is given.
  expect(log.urls.filter(isRuntimeTraffic)).toContain(`/modules/${mandelbrot}.wasm`);
  expect(log.sockets.some((url) => url.includes('/socket.io/'))).toBe(true);
});

test('decline: no runtime, module, socket or worker is ever requested', async ({ page, context }) => {
  const jobId = await submit({ module: primes, inputs: primeInputs(primeRanges(5, 1000)) });
  const log = watchCoordinatorTraffic(context);

  await page.goto(hostPageUrl(siteKey));
  const frame = embedFrame(page);
  await frame.getByRole('button', { name: 'No thanks' }).click();
  const beforeDecline = new Set(log.urls);
  await page.waitForTimeout(2_000);

  expect(log.urls.filter(isRuntimeTraffic)).toEqual([]);
  expect(log.sockets).toEqual([]);
  // Nothing at all was downloaded after the click.
  expect(log.urls.filter((url) => !beforeDecline.has(url))).toEqual([]);
  const status = await jobStatus(jobId);
  expect(status.counts.running + status.counts.completed).toBe(0);
});

test('reload after decline: no banner, and still nothing runs', async ({ page, context }) => {
  const jobId = await submit({ module: primes, inputs: primeInputs(primeRanges(5, 1000)) });
  const log = watchCoordinatorTraffic(context);

  await page.goto(hostPageUrl(siteKey));
  await embedFrame(page).getByRole('button', { name: 'No thanks' }).click();
  const firstVisit = new Set(log.urls);

  const mark = log.mark();
  await page.reload();
  const frame = embedFrame(page);
  await expect(frame.locator('body')).toHaveAttribute('data-state', 'declined');
  await expect(frame.getByRole('button', { name: 'Allow' })).toHaveCount(0);
  await page.waitForTimeout(2_000);

  const reloadTraffic = log.since(mark);
  expect(reloadTraffic.filter(isRuntimeTraffic)).toEqual([]);
  expect(log.sockets).toEqual([]);
  // The reload fetched nothing the declined first visit had not fetched (no runtime chunk, no worker).
  expect(reloadTraffic.filter((url) => !firstVisit.has(url))).toEqual([]);
  const status = await jobStatus(jobId);
  expect(status.counts.running + status.counts.completed).toBe(0);
});

test('reload after accept: no banner, and work resumes', async ({ page }) => {
  await page.goto(hostPageUrl(siteKey));
  await allowSharing(page);
  const first = primeRanges(10, 5000);
  const firstJob = await submit({ module: primes, inputs: primeInputs(first) });
  await waitForJobDone(firstJob);

  await page.reload();
  const frame = embedFrame(page);
  await expect(frame.locator('body')).toHaveAttribute('data-state', 'accepted');
  await expect(frame.getByRole('button', { name: 'Allow' })).toHaveCount(0);

  const second = primeRanges(10, 5000, 1_000_000);
  const secondJob = await submit({ module: primes, inputs: primeInputs(second) });
  expect((await waitForJobDone(secondJob)).state).toBe('completed');
  await expectPrimeResults(secondJob, second);
});

/**
 * The guest a visitor keeps, in a real Chromium: the grid's CPU use measured from the browser's
 * processes (/proc) stays within the idle policy's share, with one tab or three tabs of a site;
 * Stop in any tab ends it everywhere within a second; closing the leading tab hands the pool
 * over within two seconds and loses no task; a hidden page, a discharging battery and a busy
 * host page pause it, and it resumes by itself; the embed causes no long task in the host page.
 */
import { availableParallelism } from 'node:os';
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { cancelJob, createJob, createSite, hostPageUrl, jobStatus, uploadBuiltModule } from './support/api.ts';
import { browserCoresOver } from './support/cpu.ts';
import { allowSharing, chooseShare, embedFrame } from './support/frame.ts';
import { expectPrimeResults, primeInputs, primeRanges, waitForJobDone } from './support/jobs.ts';
import { frameOf } from './support/outbox.ts';
import { E2E } from './support/ports.ts';
import { longTasks, setCharging, setHidden, simulateSignals } from './support/signals.ts';

const cores = availableParallelism();
/** The default policy: a 50 % duty cycle on all cores but one. */
const DEFAULT_CORES = 0.5 * Math.max(1, cores - 1);
/** The browser's own work beside the grid's (compositor, sockets, the frame's main thread). */
const NOISE = 0.25;
/** Primes tasks of about half a second each, more than any test finishes. */
const LONG_JOB = () => primeInputs(primeRanges(400, 1_000_000, 50_000_000));

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

async function submit(inputs: Uint8Array[], title = 'primes'): Promise<string> {
  const id = await createJob({ module: primes, inputs, title, deadlineMs: 60_000 });
  jobs.push(id);
  return id;
}

const completed = async (jobId: string): Promise<number> => (await jobStatus(jobId)).counts.completed;
const running = async (jobId: string): Promise<number> => (await jobStatus(jobId)).counts.running;

async function openTab(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(hostPageUrl(siteKey));
  await expect(embedFrame(page).locator('body')).toHaveAttribute('data-state', /./);
  return page;
}

const isLeader = async (page: Page): Promise<boolean> =>
  (await embedFrame(page).locator('body').getAttribute('data-leader')) === 'true';

/** The tab whose frame runs the pool, and one that does not. */
async function leaderAndFollower(first: Page, second: Page): Promise<[Page, Page]> {
  return (await isLeader(first)) ? [first, second] : [second, first];
}

/** One tab (signals simulated) sharing, with a long job's first tasks running. */
async function sharingTab(context: BrowserContext): Promise<{ jobId: string; page: Page }> {
  await simulateSignals(context);
  const jobId = await submit(LONG_JOB());
  const page = await openTab(context);
  await allowSharing(page);
  await expect.poll(() => running(jobId), { timeout: 30_000 }).toBeGreaterThan(0);
  return { jobId, page };
}

async function leaders(pages: Page[]): Promise<number> {
  let count = 0;
  for (const page of pages) if (await isLeader(page)) count += 1;
  return count;
}

test('one tab at defaults uses at most half of the cores but one, and still completes tasks', async ({ page }) => {
  const jobId = await submit(LONG_JOB());
  await page.goto(hostPageUrl(siteKey));
  await allowSharing(page);
  await expect.poll(() => completed(jobId), { timeout: 30_000 }).toBeGreaterThan(0);
  const before = await completed(jobId);
  const used = await browserCoresOver(10_000);
  const done = (await completed(jobId)) - before;
  console.log(`one tab: ${used.toFixed(2)} cores over 10 s, ${done} tasks (cap ${DEFAULT_CORES} + noise)`);
  expect(used).toBeLessThanOrEqual(DEFAULT_CORES + NOISE);
  expect(done).toBeGreaterThan(3);
});

test('three tabs of one site run one pool: one leader, the same CPU as one tab', async ({ context }) => {
  const jobId = await submit(LONG_JOB());
  const tabs = [await openTab(context)];
  await allowSharing(tabs[0]!);
  tabs.push(await openTab(context), await openTab(context));
  for (const tab of tabs) await expect(embedFrame(tab).locator('body')).toHaveAttribute('data-state', 'accepted');
  await expect.poll(() => leaders(tabs)).toBe(1);
  await expect.poll(() => completed(jobId), { timeout: 30_000 }).toBeGreaterThan(0);
  const used = await browserCoresOver(10_000);
  console.log(`three tabs: ${used.toFixed(2)} cores over 10 s`);
  expect(used).toBeLessThanOrEqual(DEFAULT_CORES + NOISE);
  expect(await leaders(tabs)).toBe(1);
  // Every tab's control shows the leader's work.
  for (const tab of tabs) await expect(embedFrame(tab).locator('section.control')).not.toHaveAttribute('data-completed', '0');
});

test('Stop in any tab ends the grid\'s CPU use in every tab within a second', async ({ context }) => {
  const jobId = await submit(LONG_JOB());
  const tabs = [await openTab(context)];
  await allowSharing(tabs[0]!);
  tabs.push(await openTab(context), await openTab(context));
  await expect.poll(() => running(jobId), { timeout: 30_000 }).toBeGreaterThan(0);
  // Stop from a tab that does not lead.
  let follower = tabs[0]!;
  for (const tab of tabs) if (!(await isLeader(tab))) follower = tab;
  const stoppedAt = Date.now();
  await embedFrame(follower).getByRole('button', { name: 'Stop' }).click();
  for (const tab of tabs) await expect(embedFrame(tab).locator('body')).toHaveAttribute('data-state', 'declined', { timeout: 1_000 });
  await expect.poll(() => running(jobId), { timeout: 1_000, intervals: [100] }).toBe(0);
  // From one second after the click on, the browser is idle.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, stoppedAt + 1_000 - Date.now())));
  const used = await browserCoresOver(2_000);
  console.log(`after Stop: ${used.toFixed(2)} cores`);
  expect(used).toBeLessThan(0.15);
});

test('closing the leading tab hands the pool over within two seconds, and no task is lost', async ({ context }) => {
  const ranges = primeRanges(40, 400_000, 10_000_000);
  // Deadlines far beyond the test: only the release at the old leader's disconnect moves its tasks.
  const jobId = await createJob({ module: primes, inputs: primeInputs(ranges), deadlineMs: 600_000 });
  jobs.push(jobId);
  const first = await openTab(context);
  await allowSharing(first);
  const second = await openTab(context);
  await expect.poll(() => completed(jobId), { timeout: 30_000 }).toBeGreaterThan(0);
  expect(await leaders([first, second])).toBe(1);
  const [leader, other] = await leaderAndFollower(first, second);
  await leader.close();
  await expect(embedFrame(other).locator('body')).toHaveAttribute('data-leader', 'true', { timeout: 2_000 });
  // The new leader's own pool takes work within seconds (its first leases after connecting).
  await expect(embedFrame(other).locator('section.control')).not.toHaveAttribute('data-running', '0', { timeout: 5_000 });
  expect((await waitForJobDone(jobId, 60_000)).state).toBe('completed');
  await expectPrimeResults(jobId, ranges);
});

test('a hidden page and a discharging battery pause the pool, and it resumes by itself', async ({ context }) => {
  const { jobId, page } = await sharingTab(context);
  const control = embedFrame(page).locator('section.control');

  for (const [pause, resume, reason] of [
    [() => setHidden(page, true), () => setHidden(page, false), 'hidden'],
    [() => setCharging(page, false), () => setCharging(page, true), 'battery'],
  ] as const) {
    await pause();
    await expect(control).toHaveAttribute('data-paused', reason);
    // Running tasks get a short grace, then the leases go back to the coordinator.
    await expect.poll(() => running(jobId), { timeout: 6_000 }).toBe(0);
    expect(await browserCoresOver(2_000)).toBeLessThan(0.15);
    const before = await completed(jobId);
    await resume();
    await expect(control).toHaveAttribute('data-paused', '', { timeout: 10_000 });
    await expect.poll(() => completed(jobId), { timeout: 15_000 }).toBeGreaterThan(before);
  }
});

test('a busy host page makes the pool back off for a while, then it resumes', async ({ context }) => {
  const { jobId, page } = await sharingTab(context);
  const control = embedFrame(page).locator('section.control');
  // The page's own main thread is busy for 300 ms: a long task only the page can see.
  await page.evaluate(() =>
    setTimeout(() => {
      const end = performance.now() + 300;
      while (performance.now() < end);
    }, 0),
  );
  await expect(control).toHaveAttribute('data-paused', 'page-busy', { timeout: 3_000 });
  await expect(control).toHaveAttribute('data-paused', '', { timeout: 15_000 });
  const before = await completed(jobId);
  await expect.poll(() => completed(jobId), { timeout: 15_000 }).toBeGreaterThan(before);
});

test('the embed causes no long task in the host page (nor in its frame) while workers compute', async ({ context }) => {
  await simulateSignals(context);
  const jobId = await submit(LONG_JOB());
  const page = await openTab(context);
  await allowSharing(page);
  const frame = await frameOf(page);
  // From consent on: the page's and the frame's first loads, before, are not the grid's work.
  const acceptedAt = await frame.evaluate(() => performance.now());
  const pageAcceptedAt = await page.evaluate(() => performance.now());
  await expect.poll(() => completed(jobId), { timeout: 30_000 }).toBeGreaterThan(2);
  await page.waitForTimeout(10_000);
  expect(await completed(jobId)).toBeGreaterThan(5);
  expect((await longTasks(page)).filter((task) => task.at >= pageAcceptedAt)).toEqual([]);
  // The frame's own main thread too.
  expect((await longTasks(frame)).filter((task) => task.at >= acceptedAt)).toEqual([]);
});

test('a share or a pause chosen in any tab applies to the pool; a hidden tab does not pause it while another is visible', async ({ context }) => {
  await simulateSignals(context);
  const jobId = await submit(LONG_JOB());
  const first = await openTab(context);
  await allowSharing(first);
  const second = await openTab(context);
  await expect.poll(() => leaders([first, second])).toBe(1);
  const [leader, follower] = await leaderAndFollower(first, second);
  await expect.poll(() => running(jobId), { timeout: 30_000 }).toBeGreaterThan(0);

  await chooseShare(follower, /100/);
  await expect(embedFrame(leader).getByLabel('Share')).toHaveValue('1');

  // The leader's page goes to the background while the visitor reads the other tab.
  await setHidden(leader, true);
  await leader.waitForTimeout(1_500);
  await expect(embedFrame(leader).locator('section.control')).toHaveAttribute('data-paused', '');
  await setHidden(follower, true);
  await expect(embedFrame(leader).locator('section.control')).toHaveAttribute('data-paused', 'hidden');
  await setHidden(follower, false);
  await setHidden(leader, false);

  await embedFrame(follower).getByRole('button', { name: 'Pause' }).click();
  await expect(embedFrame(leader).locator('section.control')).toHaveAttribute('data-state', 'paused');
  await expect.poll(() => running(jobId), { timeout: 1_000, intervals: [100] }).toBe(0);
  await embedFrame(leader).getByRole('button', { name: 'Resume' }).click();
  await expect.poll(() => running(jobId), { timeout: 10_000 }).toBeGreaterThan(0);
});

test('Forget me stops sharing in every tab and deletes everything the frame stored', async ({ context }) => {
  const jobId = await submit(LONG_JOB());
  const first = await openTab(context);
  await allowSharing(first);
  const second = await openTab(context);
  await expect.poll(() => completed(jobId), { timeout: 30_000 }).toBeGreaterThan(0);
  const frame = await frameOf(second);
  await expect.poll(() => frame.evaluate(async () => (await indexedDB.databases()).map((db) => db.name))).toContain('sparecycles');

  await embedFrame(second).locator('summary').click();
  await embedFrame(second).getByRole('button', { name: 'Forget me' }).click();
  for (const tab of [first, second]) await expect(embedFrame(tab).getByRole('button', { name: 'Allow' })).toBeVisible();
  await expect.poll(() => running(jobId), { timeout: 2_000, intervals: [100] }).toBe(0);
  await expect.poll(() => frame.evaluate(async () => (await indexedDB.databases()).map((db) => db.name))).not.toContain('sparecycles');
  expect(await frame.evaluate(() => Object.keys(localStorage).filter((key) => key.startsWith('sparecycles:')))).toEqual([]);
});

/**
 * Consent cannot be clickjacked: host pages that make the frame transparent, cover it, move it
 * under the pointer or slide it under a resting pointer never obtain consent, and nothing is
 * downloaded or run; an honest page still works. Consent is per site key: accepting one site's
 * banner does not start another site's frame on the same page's site.
 */
import { expect, test, type Page } from '@playwright/test';
import { cancelJob, createJob, createSite, hostPageUrl, jobStatus, uploadBuiltModule } from './support/api.ts';
import { allowSharing, embedFrame, FRAME_SELECTOR, isRuntimeTraffic, watchCoordinatorTraffic } from './support/frame.ts';
import type { Attack } from './support/host-pages.ts';
import { primeInputs, primeRanges } from './support/jobs.ts';
import { E2E } from './support/ports.ts';

let siteKey = '';
let primes = '';
let jobId = '';
/** Where "Allow" sits inside the frame, as an attacker measures it on an honest page. */
let allowOffset = { dx: 0, dy: 0 };

test.beforeAll(async ({ browser }) => {
  siteKey = await createSite([E2E.hostOrigin]);
  primes = await uploadBuiltModule('primes');
  const page = await browser.newPage();
  await page.goto(hostPageUrl(siteKey));
  const allow = embedFrame(page).getByRole('button', { name: 'Allow' });
  await expect(allow).toBeEnabled();
  const frameBox = await page.locator(FRAME_SELECTOR).boundingBox();
  const allowBox = await allow.boundingBox();
  if (!frameBox || !allowBox) throw new Error('no boxes to measure');
  allowOffset = { dx: allowBox.x + allowBox.width / 2 - frameBox.x, dy: allowBox.y + allowBox.height / 2 - frameBox.y };
  await page.close();
});

test.beforeEach(async () => {
  jobId = await createJob({ module: primes, inputs: primeInputs(primeRanges(20, 100_000)) });
});

test.afterEach(async () => {
  await cancelJob(jobId).catch(() => undefined);
});

const attackUrl = (attack: Attack, extra = ''): string =>
  `${hostPageUrl(siteKey)}&attack=${attack}&dx=${allowOffset.dx}&dy=${allowOffset.dy}${extra}`;

/** The centre of the page's own "Play" button, where the visitor means to click. */
async function playCentre(page: Page): Promise<{ x: number; y: number }> {
  const box = await page.locator('#play').boundingBox();
  if (!box) throw new Error('no Play button');
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

async function expectNoConsent(page: Page, log: ReturnType<typeof watchCoordinatorTraffic>): Promise<void> {
  await page.waitForTimeout(1_500);
  await expect(embedFrame(page).locator('body')).toHaveAttribute('data-state', 'undecided');
  expect(log.urls.filter(isRuntimeTraffic)).toEqual([]);
  expect(log.sockets).toEqual([]);
  const status = await jobStatus(jobId);
  expect(status.counts.running + status.counts.completed).toBe(0);
}

for (const attack of ['transparent', 'covered'] as const) {
  test(`a page that makes the frame ${attack === 'transparent' ? 'transparent' : 'covered'} over its own button gets no consent from the visitor's click`, async ({ page, context }) => {
    const log = watchCoordinatorTraffic(context);
    await page.goto(attackUrl(attack));
    await expect(embedFrame(page).getByRole('button', { name: 'Allow' })).toBeEnabled();
    // The visitor moves to "Play" as a person does, waits a moment, and clicks it.
    const play = await playCentre(page);
    await page.mouse.move(play.x - 60, play.y - 25);
    await page.waitForTimeout(1_500);
    await page.mouse.move(play.x, play.y, { steps: 6 });
    await page.mouse.down();
    await page.mouse.up();
    // The click reached the frame's button (the attack "worked"), yet it did not count.
    await expect(embedFrame(page).getByRole('alert')).toContainText('fully visible');
    await expectNoConsent(page, log);
  });
}

test('a page that moves the frame under the pointer as it nears the page\'s button gets no consent', async ({ page, context }) => {
  const log = watchCoordinatorTraffic(context);
  await page.goto(attackUrl('moved'));
  await expect(embedFrame(page).getByRole('button', { name: 'Allow' })).toBeEnabled();
  await page.waitForTimeout(1_000);
  const play = await playCentre(page);
  await page.mouse.move(20, 20);
  await page.mouse.move(play.x, play.y, { steps: 12 });
  await page.waitForTimeout(300);
  await page.mouse.down();
  await page.mouse.up();
  // The click reached the frame's button (the attack "worked"), yet it did not count.
  await expect(embedFrame(page).getByRole('alert')).toContainText('fully visible');
  await expectNoConsent(page, log);
});

test('a page that slides the frame under a resting pointer gets no consent, however long it waits', async ({ page, context }) => {
  const log = watchCoordinatorTraffic(context);
  await page.goto(attackUrl('slid', '&after=1000'));
  await expect(embedFrame(page).getByRole('button', { name: 'Allow' })).toBeEnabled();
  const play = await playCentre(page);
  await page.mouse.move(play.x - 30, play.y, { steps: 3 });
  await page.mouse.move(play.x, play.y, { steps: 3 });
  // The frame arrives under the still pointer after 1 s and stays, fully visible, for 2 s more.
  await page.waitForTimeout(3_000);
  await page.mouse.down();
  await page.mouse.up();
  await expect(embedFrame(page).getByRole('alert')).toContainText('fully visible');
  await expectNoConsent(page, log);
});

test('an honest page still gets consent from a visitor who looks and clicks', async ({ page }) => {
  await page.goto(hostPageUrl(siteKey));
  await allowSharing(page);
  await expect.poll(async () => (await jobStatus(jobId)).counts.completed, { timeout: 30_000 }).toBeGreaterThan(0);
});

test('a visitor who stopped can turn sharing on again with the mouse: the banner shown under the pointer still takes an honest click', async ({ page }) => {
  await page.goto(hostPageUrl(siteKey));
  await allowSharing(page);
  const frame = embedFrame(page);
  await frame.getByRole('button', { name: 'Stop' }).click();
  await expect(frame.locator('body')).toHaveAttribute('data-state', 'declined');
  await frame.getByRole('button', { name: 'Turn on' }).click();
  await allowSharing(page);
  await expect.poll(async () => (await jobStatus(jobId)).counts.completed, { timeout: 30_000 }).toBeGreaterThan(0);
});

test('consent is per site key: accepting one site key\'s banner starts nothing for another key on the same site', async ({ page, context }) => {
  const otherSite = await createSite([E2E.hostOrigin]);
  await page.goto(hostPageUrl(siteKey));
  await allowSharing(page);
  await page.close();

  const log = watchCoordinatorTraffic(context);
  const other = await context.newPage();
  await other.goto(hostPageUrl(otherSite));
  await expect(embedFrame(other).getByRole('button', { name: 'Allow' })).toBeVisible();
  await other.waitForTimeout(1_500);
  await expect(embedFrame(other).locator('body')).toHaveAttribute('data-state', 'undecided');
  expect(log.urls.filter(isRuntimeTraffic)).toEqual([]);
  expect(log.sockets).toEqual([]);
});

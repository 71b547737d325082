/**
 * The browser itself refuses a site key on a page its site did not register: the frame is served
 * with CSP `frame-ancestors` = the site's origins, so nothing loads inside it and nothing runs.
 */
import { expect, test } from '@playwright/test';
import { cancelJob, createJob, createSite, hostPageUrl, jobStatus, uploadBuiltModule } from './support/api.ts';
import { FRAME_SELECTOR, embedFrame, isRuntimeTraffic, watchCoordinatorTraffic } from './support/frame.ts';
import { primeInputs, primeRanges } from './support/jobs.ts';
import { E2E } from './support/ports.ts';

test('the snippet on an unregistered origin: the frame is refused and nothing runs', async ({ page, context }) => {
  const siteKey = await createSite([E2E.hostOrigin]);
  const primes = await uploadBuiltModule('primes');
  const jobId = await createJob({ module: primes, inputs: primeInputs(primeRanges(3, 1000)) });
  const log = watchCoordinatorTraffic(context);
  try {
    await page.goto(hostPageUrl(siteKey, E2E.strangerOrigin));
    // The loader itself runs (it is public) and adds the frame...
    await expect(page.locator(FRAME_SELECTOR)).toHaveCount(1);
    await page.waitForTimeout(2_000);
    // ...but the browser blocks the frame's document: no banner, no assets, no socket.
    await expect(embedFrame(page).getByRole('button', { name: 'Allow' })).toHaveCount(0);
    expect(log.urls.filter((url) => url.startsWith('/assets/'))).toEqual([]);
    expect(log.urls.filter(isRuntimeTraffic)).toEqual([]);
    expect(log.sockets).toEqual([]);
    const status = await jobStatus(jobId);
    expect(status.counts.running + status.counts.completed).toBe(0);
  } finally {
    await cancelJob(jobId);
  }
});

test('the same snippet on the registered origin shows the banner', async ({ page }) => {
  const siteKey = await createSite([E2E.hostOrigin]);
  await page.goto(hostPageUrl(siteKey));
  await expect(embedFrame(page).getByRole('button', { name: 'Allow' })).toBeVisible();
});

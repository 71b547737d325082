/**
 * `npm run screenshots`: pictures of the banner and the control for the README, in English and
 * French and in a site's own colours, taken from a real coordinator and Chromium (docs/images/).
 */
import { chromium, type Page } from '@playwright/test';
import { apiClient, hostPageUrl } from '../e2e/support/api.ts';
import { chromiumArgs, chromiumPath } from '../e2e/support/chromium.ts';
import { startCoordinatorProcess } from '../e2e/support/coordinator-process.ts';
import { allowSharing, embedFrame, FRAME_SELECTOR } from '../e2e/support/frame.ts';
import { serveHostPages } from '../e2e/support/host-pages.ts';
import { primeInputs, primeRanges } from '../e2e/support/jobs.ts';
import { taskWasmPath } from '../wasm/testing/task-modules.ts';
import { readFile } from 'node:fs/promises';

const KEY = 'screenshots-admin-key-0123456789';
// The control names who runs the grid; a made-up operator reads better than a test port.
process.env['SPARECYCLES_OPERATOR'] = 'Example Research Grid';
const OUT = 'docs/images';

const coordinator = await startCoordinatorProcess({ port: 18280, dataDir: '.tmp/screenshots', adminKey: KEY });
const host = await serveHostPages(18282, coordinator.url);
const browser = await chromium.launch({ executablePath: chromiumPath, args: [...chromiumArgs] });
const api = apiClient(coordinator.url, KEY);
const origin = 'http://localhost:18282';

async function shoot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(300);
  await page.locator(FRAME_SELECTOR).screenshot({ path: `${OUT}/${name}.png`, omitBackground: true });
  console.log(`${OUT}/${name}.png`);
}

try {
  const primes = await api.uploadModule(new Uint8Array(await readFile(taskWasmPath('primes'))));
  await api.createJob({
    module: primes,
    inputs: primeInputs(primeRanges(400, 1_000_000, 50_000_000)),
    title: 'Prime counting',
    purpose: 'Counts the primes in ranges of integers, checked against a known table',
  });
  const shots = [
    { name: 'en', locale: 'en-GB', settings: {} },
    { name: 'fr', locale: 'fr-FR', settings: {} },
    {
      name: 'site-colours',
      locale: 'en-GB',
      settings: { colors: { background: '#20252f', text: '#f4f1e8', accent: '#ffb000', accentText: '#1a1a1a' }, message: 'Thanks for helping our research!' },
    },
  ];
  for (const shot of shots) {
    const siteKey = await api.createSite([origin], shot.settings);
    const context = await browser.newContext({ locale: shot.locale, viewport: { width: 900, height: 600 } });
    const page = await context.newPage();
    await page.goto(hostPageUrl(siteKey, origin));
    await embedFrame(page).locator('.banner button:not([disabled])').first().waitFor();
    await shoot(page, `banner-${shot.name}`);
    await allowSharing(page, shot.locale.startsWith('fr') ? 'Autoriser' : 'Allow');
    await embedFrame(page).locator('summary').click();
    await embedFrame(page).locator('section.control:not([data-completed="0"])').waitFor({ timeout: 60_000 });
    await shoot(page, `control-${shot.name}`);
    await context.close();
  }
} finally {
  await browser.close();
  host.close();
  await coordinator.stop();
}

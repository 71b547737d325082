/**
 * What `npm start` promises a newcomer: a coordinator with a demo site and job, and a demo host page
 * on a second origin; accept the banner and the image fills in tile by tile until it is done.
 */
import { expect, test } from '@playwright/test';
import { startCoordinatorProcess, type CoordinatorProcess } from './support/coordinator-process.ts';
import { embedFrame, allowSharing } from './support/frame.ts';

const PORT = 18200;
const DEMO_PORT = 18201;
let coordinator: CoordinatorProcess | undefined;

test.beforeAll(async () => {
  coordinator = await startCoordinatorProcess({
    port: PORT,
    demoPort: DEMO_PORT,
    demo: true,
    dataDir: '.tmp/e2e-demo-data',
    adminKey: 'e2e-demo-admin-key-0123456789',
  });
});

test.afterAll(async () => {
  await coordinator?.stop();
});

test('the demo page: accept, and the Mandelbrot image fills in until every tile is done', async ({ page }) => {
  // Health answers once the coordinator listens; the banner with the demo's address follows once
  // the demo is up.
  await expect.poll(() => coordinator?.output(), { timeout: 30_000 }).toContain(`http://localhost:${DEMO_PORT}`);
  await page.goto(`http://localhost:${DEMO_PORT}/`);
  await expect(page.locator('#progress')).toContainText('of 96 tiles');
  await allowSharing(page);

  await expect(page.locator('#progress')).toContainText('96 of 96 tiles — done', { timeout: 60_000 });
  // The canvas is painted, not left at its background colour: count distinct colours in it.
  const colours = await page.locator('#image').evaluate((canvas: HTMLCanvasElement) => {
    const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const seen = new Set<number>();
    for (let i = 0; i < data.length; i += 4 * 97) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
    return seen.size;
  });
  expect(colours).toBeGreaterThan(50);
});

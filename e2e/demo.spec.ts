/**
 * What `npm start` promises a newcomer: a coordinator with a demo site and job, and a demo host page
 * on a second origin; accept the banner and the image fills in tile by tile until it is done.
 */
import { expect, test } from '@playwright/test';
import { startCoordinatorProcess, type CoordinatorProcess } from './support/coordinator-process.ts';
import { embedFrame, allowSharing } from './support/frame.ts';
import { E2E } from './support/ports.ts';

// 18200 and 18201 by default; E2E_PORT_BASE moves them with the other ports.
const PORT = E2E.coordinatorPort + 120;
const DEMO_PORT = PORT + 1;
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

test('the zoom page renders each view through the page\'s own run(), marking where each tile ran', async ({ page }) => {
  await expect.poll(() => coordinator?.output(), { timeout: 30_000 }).toContain(`http://localhost:${DEMO_PORT}`);
  await page.goto(`http://localhost:${DEMO_PORT}/zoom`);
  const status = page.locator('#status');
  await allowSharing(page);
  // The first view started before the choice: its tiles ran on the grid (this visitor's pool is a
  // grid volunteer too, once it shares).
  await expect(status).toHaveAttribute('data-views', '1', { timeout: 60_000 });
  await expect(status).toHaveAttribute('data-failed', '0');

  // Zoom in: this view's tiles run in the visitor's own pool, ahead of the demo job's leases.
  await page.locator('#image').click({ position: { x: 200, y: 150 } });
  await expect(status).toHaveAttribute('data-views', '2', { timeout: 60_000 });
  await expect(status).toContainText('— done');
  await expect(status).toHaveAttribute('data-failed', '0');
  expect(Number(await status.getAttribute('data-here'))).toBeGreaterThan(0);
});

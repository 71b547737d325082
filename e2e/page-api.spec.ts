/**
 * The host page's own work (`window.sparecycles.run`), end to end: a visitor who shares runs the
 * page's tasks in their own pool; a visitor who declined has them run on the grid (a Node agent
 * volunteers); every output equals an independent reference computation; a module the site did
 * not allow is refused with its code; and the page's main thread sees no long task meanwhile.
 */
import { expect, test, type Page } from '@playwright/test';
import { startNodeVolunteer, type NodeVolunteer } from '../client/src/agent/index.ts';
import { encodeTile, type Tile } from '../wasm/tasks/mandelbrot/codec.ts';
import { decodePrimesOutput, encodePrimesInput } from '../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../wasm/tasks/primes/reference.ts';
import { createSite, hostPageUrl, uploadBuiltModule } from './support/api.ts';
import { allowSharing, embedFrame } from './support/frame.ts';
import { E2E } from './support/ports.ts';

let siteKey = '';
let primes = '';
let mandelbrot = '';
const agents: NodeVolunteer[] = [];

test.beforeAll(async () => {
  primes = await uploadBuiltModule('primes');
  mandelbrot = await uploadBuiltModule('mandelbrot');
  // The site allows primes only: mandelbrot is uploaded, and still refused for this site's run().
  siteKey = await createSite([E2E.hostOrigin], { runModules: [primes], runPerMinute: 100 });
});

test.afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.stop()));
});

/** Counts the host page's long tasks (> 50 ms) from before its first script runs. */
async function watchLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: number[] = [];
    (window as unknown as { __longTasks: number[] }).__longTasks = seen;
    new PerformanceObserver((list) => list.getEntries().forEach((entry) => seen.push(entry.duration))).observe({ type: 'longtask' });
  });
}
const longTasks = (page: Page): Promise<number[]> => page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks.slice());

type Outcome = { ok: true; output: number[]; ranOn: string } | { ok: false; code: string; message: string };

/** Calls `run` in the page for each input, all at once, as the page's own script would. */
function runInPage(page: Page, module: string, inputs: Uint8Array[], options: Record<string, unknown> = {}): Promise<Outcome[]> {
  return page.evaluate(
    async ({ module, inputs, options }) => {
      const api = (window as unknown as { sparecycles: { runDetailed(m: string, i: Uint8Array, o: object): Promise<{ output: Uint8Array; ranOn: string }> } }).sparecycles;
      return Promise.all(
        inputs.map((bytes) =>
          api.runDetailed(module, new Uint8Array(bytes), options).then(
            (report) => ({ ok: true as const, output: [...report.output], ranOn: report.ranOn }),
            (error: { code: string; message: string }) => ({ ok: false as const, code: error.code, message: error.message }),
          ),
        ),
      );
    },
    { module, inputs: inputs.map((input) => [...input]), options },
  );
}

const RANGES = [
  [1, 20_000],
  [20_000, 40_000],
  [1_000_000, 1_030_000],
  [4_000_000_000, 4_000_020_000],
] as const;
const primeInputs = RANGES.map(([lo, hi]) => encodePrimesInput(lo, hi));

function expectPrimeOutputs(outcomes: Outcome[], ranOn: 'visitor' | 'grid'): void {
  expect(outcomes).toHaveLength(RANGES.length);
  outcomes.forEach((outcome, index) => {
    if (!outcome.ok) throw new Error(`run ${index} failed: ${outcome.code}: ${outcome.message}`);
    expect(outcome.ranOn).toBe(ranOn);
    const [lo, hi] = RANGES[index]!;
    expect(decodePrimesOutput(Uint8Array.from(outcome.output))).toBe(countPrimesReference(lo, hi));
  });
}

test('a visitor who shares runs the page\'s tasks in their own pool; outputs equal the reference; no long task in the page', async ({ page }) => {
  await watchLongTasks(page);
  await page.goto(hostPageUrl(siteKey));
  await allowSharing(page);
  const before = (await longTasks(page)).length;

  const outcomes = await runInPage(page, primes, primeInputs, { queueMs: 10_000 });
  expectPrimeOutputs(outcomes, 'visitor');
  expect(await page.evaluate(() => (window as unknown as { sparecycles: { state: string } }).sparecycles.state)).toBe('accepted');
  expect((await longTasks(page)).slice(before)).toEqual([]);
});

test('a visitor who declined: the grid runs them (a Node volunteer), outputs equal the reference', async ({ page }) => {
  agents.push(await startNodeVolunteer({ url: E2E.coordinator, siteKey, workers: 1, execution: 'inline' }));
  await watchLongTasks(page);
  await page.goto(hostPageUrl(siteKey));
  await embedFrame(page).getByRole('button', { name: 'No thanks' }).click();
  await expect(embedFrame(page).locator('body')).toHaveAttribute('data-state', 'declined');
  const before = (await longTasks(page)).length;

  expectPrimeOutputs(await runInPage(page, primes, primeInputs, { timeoutMs: 60_000 }), 'grid');
  expect((await longTasks(page)).slice(before)).toEqual([]);
});

test('a module the site owner did not allow is refused with module_not_allowed; fallback none says no_volunteer', async ({ page }) => {
  await page.goto(hostPageUrl(siteKey));
  await embedFrame(page).getByRole('button', { name: 'No thanks' }).click();
  const tile: Tile = { x0: -2, y0: -1, step: 0.05, width: 8, height: 8, maxIter: 100 };
  const [refused] = await runInPage(page, mandelbrot, [encodeTile(tile)]);
  expect(refused).toMatchObject({ ok: false, code: 'module_not_allowed' });
  const [none] = await runInPage(page, primes, [primeInputs[0]!], { fallback: 'none' });
  expect(none).toMatchObject({ ok: false, code: 'no_volunteer' });
});

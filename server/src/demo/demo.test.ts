import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeTile } from '../../../wasm/tasks/mandelbrot/codec.ts';
import { tileReference } from '../../../wasm/tasks/mandelbrot/reference.ts';
import { compileTask, runTask } from '../../../wasm/host/index.ts';
import { freePort, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from '../http/testing.ts';
import { startDemo, type RunningDemo } from './index.ts';
import { sceneTiles } from './scene.ts';

let c: TestCoordinator;
const demos: RunningDemo[] = [];

beforeEach(async () => {
  c = await startTestCoordinator({ limits: { maxModuleBytes: 1024 * 1024, maxOutputBytes: 1024 * 1024 } });
  await c.listen();
});
afterEach(async () => {
  for (const demo of demos.splice(0)) await demo.close();
  await c.close();
});

async function demo(port = 0): Promise<RunningDemo> {
  const running = await startDemo({
    apiUrl: c.url,
    publicUrl: c.url,
    adminKey: TEST_ADMIN_KEY,
    host: '127.0.0.1',
    port,
    dataDir: c.dir,
    wasmDir: join(process.cwd(), 'dist/wasm'),
    now: Date.now,
    random: () => 0.5,
    onError: (error) => {
      throw error;
    },
  });
  demos.push(running);
  return running;
}

const state = async (): Promise<{ siteKey: string; jobId: string; scene: number }> =>
  JSON.parse(await readFile(join(c.dir, 'demo.json'), 'utf8'));

describe('demo', () => {
  it('registers its site, uploads the module and seeds a 96-tile job, once across restarts', async () => {
    const port = await freePort();
    const first = await demo(port);
    const remembered = await state();
    expect(remembered.siteKey).toBe(first.siteKey);
    const site = (await c.api('GET', `/sites/${first.siteKey}`)).json();
    expect(site.origins).toEqual(expect.arrayContaining([expect.stringMatching(/^http:\/\/localhost:\d+$/), expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/)]));
    const job = (await c.api('GET', `/jobs/${remembered.jobId}`)).json();
    expect(job).toMatchObject({ state: 'active', counts: { total: 96 } });
    await first.close();
    demos.length = 0;

    const second = await demo(port);
    expect(second.siteKey).toBe(first.siteKey);
    const again = await state();
    expect(again.jobId).toBe(remembered.jobId);
  });

  it('serves the host page with only the snippet, and paints tiles as the job completes', async () => {
    const running = await demo();
    const base = running.url.replace('localhost', '127.0.0.1');
    const page = await fetch(base);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`<script src="${c.url}/embed.js" data-site="${running.siteKey}" async></script>`);
    expect(page.headers.get('content-security-policy')).toContain(`frame-src ${c.url}`);
    expect((await fetch(`${base}demo.js`)).headers.get('content-type')).toMatch(/javascript/);

    // Play a volunteer through the store: lease two tiles and complete them with the real module.
    const { jobId } = await state();
    const { leases: claimed } = await c.store.claimTasks({
      volunteerId: 'volunteer-demo-1234',
      sessionId: 'session-demo',
      siteKey: running.siteKey,
      slots: 2,
      now: Date.now(),
      newLeaseId: () => `lease-${Math.random().toString(36).slice(2)}`,
      random: Math.random,
    });
    expect(claimed).toHaveLength(2);
    const module = await compileTask(new Uint8Array(await readFile(join(process.cwd(), 'dist/wasm/mandelbrot.wasm'))), 64 * 1024 * 1024);
    for (const lease of claimed) {
      const outcome = await runTask(module, lease.input, { maxMemoryBytes: 64 * 1024 * 1024, maxOutputBytes: 1024 * 1024 });
      if (!outcome.ok) throw new Error(outcome.message);
      expect((await c.store.completeLease({ leaseId: lease.leaseId, volunteerId: 'volunteer-demo-1234', output: outcome.output, cpuMs: 1, now: Date.now() })).outcome).toBe('accepted');
    }

    const progress = await (await fetch(`${base}api/progress?job=${jobId}&after=0`)).json();
    expect(progress).toMatchObject({ jobId, seq: 2, counts: { total: 96, completed: 2 }, scene: { width: 768, height: 512 } });
    const tiles = sceneTiles(0);
    for (const tile of progress.tiles) {
      const placed = tiles[tile.index]!;
      expect([tile.x, tile.y, tile.width, tile.height]).toEqual([placed.x, placed.y, 64, 64]);
      expect(decodeTile(Buffer.from(tile.counts, 'base64'), placed)).toEqual(tileReference(placed));
    }
    const none = await (await fetch(`${base}api/progress?job=${jobId}&after=2`)).json();
    expect(none.tiles).toEqual([]);

    // "New job" re-seeds with another scene and cancels the old job.
    expect((await fetch(`${base}api/new-job`, { method: 'POST' })).status).toBe(415);
    const reseeded = await (await fetch(`${base}api/new-job`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json();
    expect(reseeded.jobId).not.toBe(jobId);
    expect((await c.api('GET', `/jobs/${jobId}`)).json().state).toBe('cancelled');
    const fresh = await (await fetch(`${base}api/progress?job=${jobId}&after=2`)).json();
    expect(fresh).toMatchObject({ jobId: reseeded.jobId, seq: 0, tiles: [] });
    expect(fresh.scene.name).not.toBe(progress.scene.name);
    expect((await state()).jobId).toBe(reseeded.jobId);
  });
});

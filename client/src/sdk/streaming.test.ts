/**
 * The SDK over the streaming and account endpoints (NDJSON `POST /jobs`, `/inputs`, `/close`,
 * results `order`/`follow`/`text`, `GET /jobs`, `GET /grid`, `POST /keys`) of a real coordinator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModule, prepareVolunteering, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from '../../../server/src/http/testing.ts';
import { decodePrimesOutput, encodePrimesInput } from '../../../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../../../wasm/tasks/primes/reference.ts';
import { startNodeVolunteer } from '../agent/index.ts';
import { Client, SpareCyclesError, type Job } from './index.ts';

let coordinator: TestCoordinator;
let operator: Client;

beforeAll(async () => {
  coordinator = await startTestCoordinator();
  await coordinator.listen();
  operator = new Client({ url: coordinator.url, key: TEST_ADMIN_KEY });
});
afterAll(() => coordinator.close());

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}

describe('createJob (streamed in batches)', () => {
  it('sends text and bytes in several batches, then closes the job', async () => {
    const { hash } = await operator.pushModule(await builtModule('primes'));
    const inputs = Array.from({ length: 2_345 }, (_, i) => (i % 2 === 0 ? `text input ${i} é😀` : new Uint8Array([i & 255, i >> 8])));
    const batches: { added: number; total: number }[] = [];
    const job = await operator.createJob({ module: hash, inputs, title: 'batched', batch: { maxCount: 500 }, onBatch: ({ added, total }) => batches.push({ added, total }) });
    expect(batches).toEqual([500, 1000, 1500, 2000, 2345].map((total, i) => ({ added: i < 4 ? 500 : 345, total })));
    const status = await job.status();
    expect(status).toMatchObject({ title: 'batched', open: false, counts: { total: 2_345 } });
    await job.cancel();
  });

  it('an async producer that throws cancels the job and rethrows its error', async () => {
    const { hash } = await operator.pushModule(await builtModule('primes'));
    let created: Job | undefined;
    async function* inputs() {
      for (let i = 0; i < 250; i++) yield encodePrimesInput(i, i + 10);
      throw new Error('the producer broke');
    }
    await expect(operator.createJob({ module: hash, inputs: inputs(), batch: { maxCount: 100 }, onBatch: ({ job }) => (created = job) })).rejects.toThrow('the producer broke');
    expect(created).toBeDefined();
    expect((await created!.status()).state).toBe('cancelled');
  });

  it('refuses text that is not valid Unicode before sending it', async () => {
    const { hash } = await operator.pushModule(await builtModule('primes'));
    await expect(operator.createJob({ module: hash, inputs: ['fine', 'lone \uDC00'] })).rejects.toThrow(/input 1 is text with a lone UTF-16 surrogate/);
  });

  it("an unknown module is the API's module_not_found", async () => {
    const error = await operator.createJob({ module: 'f'.repeat(64), inputs: ['x'] }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(SpareCyclesError);
    expect((error as SpareCyclesError).code).toBe('module_not_found');
  });
});

describe('following a job', () => {
  it('results in completion order with follow end when the job does, each task once, checked against a reference', async () => {
    const { siteKey, moduleHash } = await prepareVolunteering(coordinator, 'primes');
    const ranges = Array.from({ length: 300 }, (_, i) => ({ lo: i * 1000, hi: i * 1000 + 1000 }));
    const job = await operator.createJob({ module: moduleHash, inputs: ranges.map(({ lo, hi }) => encodePrimesInput(lo, hi)), batch: { maxCount: 64 } });
    const following = collect(job.results({ order: 'completion', follow: true }));
    const progress = collect(job.progress({ intervalMs: 100 }));
    const volunteer = await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 2 });
    try {
      expect((await operator.grid()).volunteersOnline).toBe(1);
      const results = await following;
      expect(results.map((r) => r.index).sort((a, b) => a - b)).toEqual(ranges.map((_, i) => i));
      for (const result of results) {
        expect(result.state).toBe('completed');
        expect(decodePrimesOutput(result.output!)).toBe(countPrimesReference(ranges[result.index]!.lo, ranges[result.index]!.hi));
      }
      const statuses = await progress;
      expect(statuses.at(-1)!.state).toBe('completed');
      const done = statuses.map((s) => s.counts.completed);
      expect(done).toEqual([...done].sort((a, b) => a - b));
    } finally {
      await volunteer.stop();
    }
    const inOrder = await collect(job.results({ order: 'input', text: true }));
    expect(inOrder.map((r) => r.index)).toEqual(ranges.map((_, i) => i));
  });

  it('listJobs lists the newest first', async () => {
    const { hash } = await operator.pushModule(await builtModule('primes'));
    const first = await operator.createJob({ module: hash, inputs: [encodePrimesInput(0, 5)], title: 'older' });
    const second = await operator.createJob({ module: hash, inputs: [encodePrimesInput(0, 5)], title: 'newer' });
    const ids = (await operator.listJobs({ limit: 50 })).map((job) => job.id);
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
  });
});

describe('keys', () => {
  it('an author key made by the operator sees its own jobs only; another author gets 404', async () => {
    const alice = await operator.createKey({ role: 'author', name: 'alice' });
    const bob = await operator.createKey({ role: 'author', name: 'bob' });
    expect(alice.secret).toMatch(/^sc_/);
    const asAlice = new Client({ url: coordinator.url, key: alice.secret });
    const asBob = new Client({ url: coordinator.url, key: bob.secret });
    const { hash } = await asAlice.pushModule(await builtModule('primes'));
    const job = await asAlice.createJob({ module: hash, inputs: [encodePrimesInput(0, 5)] });
    const error = await asBob.job(job.id).status().catch((thrown: unknown) => thrown);
    expect((error as SpareCyclesError).status).toBe(404);
    expect((await asAlice.listJobs()).map((j) => j.id)).toContain(job.id);
    expect((await asBob.listJobs()).map((j) => j.id)).not.toContain(job.id);
  });
});

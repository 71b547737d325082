/**
 * The SDK against a real coordinator, for the endpoints main has today (modules, a job's status,
 * results and cancel, sites). Streamed job creation, follow/completion results, progress, job
 * lists, the grid and keys are in streaming.test.ts (they need the streaming and tenancy routes).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtModule, freePort, prepareVolunteering, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from '../../../server/src/http/testing.ts';
import { decodePrimesOutput, encodePrimesInput } from '../../../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../../../wasm/tasks/primes/reference.ts';
import { startNodeVolunteer } from '../agent/index.ts';
import { Client, SpareCyclesError } from './index.ts';

let coordinator: TestCoordinator;
let client: Client;

beforeAll(async () => {
  coordinator = await startTestCoordinator();
  await coordinator.listen();
  client = new Client({ url: coordinator.url, key: TEST_ADMIN_KEY });
});
afterAll(() => coordinator.close());

async function refusal(promise: Promise<unknown>): Promise<SpareCyclesError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SpareCyclesError);
  return error as SpareCyclesError;
}

describe('Client', () => {
  it('pushModule uploads the bytes and answers the hash, ABI and size', async () => {
    const bytes = await builtModule('primes');
    const info = await client.pushModule(bytes);
    expect(info).toEqual({ hash: createHash('sha256').update(bytes).digest('hex'), abi: 'bytes', size: bytes.length });
  });

  it("a refused upload carries the API's code, status and message", async () => {
    const error = await refusal(client.pushModule(new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9])));
    expect(error.code).toBe('invalid_module');
    expect(error.status).toBe(400);
    expect(error.message.length).toBeGreaterThan(0);
  });

  it('a job by id: status, results as bytes with the raw line, cancel', async () => {
    const { hash } = await client.pushModule(await builtModule('primes'));
    const inputs = [encodePrimesInput(0, 100), encodePrimesInput(100, 200)];
    const created = await coordinator.api('POST', '/jobs', { module: hash, inputs: inputs.map((b) => Buffer.from(b).toString('base64')), title: 'sdk' });
    const job = client.job(created.json().id);
    const status = await job.status();
    expect(status).toMatchObject({ id: job.id, state: 'active', title: 'sdk', counts: { total: 2, pending: 2 } });

    const results = [];
    for await (const result of job.results()) results.push(result);
    expect(results.map(({ index, state, line }) => ({ index, state, line }))).toEqual([
      { index: 0, state: 'pending', line: '{"index":0,"state":"pending"}' },
      { index: 1, state: 'pending', line: '{"index":1,"state":"pending"}' },
    ]);

    const cancelled = await job.cancel();
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.counts.cancelled).toBe(2);
    // progress() of an ended job yields its status once and stops.
    const seen = [];
    for await (const update of job.progress({ intervalMs: 10 })) seen.push(update.state);
    expect(seen).toEqual(['cancelled']);
  });

  it('completed outputs arrive as bytes, computed by a real Node volunteer', async () => {
    const { siteKey, moduleHash } = await prepareVolunteering(coordinator, 'primes');
    const created = await coordinator.api('POST', '/jobs', { module: moduleHash, inputs: [Buffer.from(encodePrimesInput(0, 100)).toString('base64')] });
    const job = client.job(created.json().id);
    const volunteer = await startNodeVolunteer({ url: coordinator.url, siteKey, workers: 1, execution: 'inline' });
    try {
      const states = [];
      for await (const status of job.progress({ intervalMs: 50 })) states.push(status.state);
      expect(states.at(-1)).toBe('completed');
    } finally {
      await volunteer.stop();
    }
    const results = [];
    for await (const result of job.results()) results.push(result);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ index: 0, state: 'completed' });
    expect(decodePrimesOutput(results[0]!.output!)).toBe(countPrimesReference(0, 100));
  });

  it('an unknown job is job_not_found (404)', async () => {
    const error = await refusal(client.job('nope').status());
    expect([error.code, error.status]).toEqual(['job_not_found', 404]);
  });

  it('a wrong key is refused with a coded error', async () => {
    const error = await refusal(new Client({ url: coordinator.url, key: 'wrong-key-0123456789' }).job('x').status());
    expect(['unauthorized', 'forbidden']).toContain(error.code);
  });

  it('no coordinator is a network error (status 0) naming the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const error = await refusal(new Client({ url, key: 'k' }).job('x').status());
    expect([error.code, error.status]).toEqual(['network', 0]);
    expect(error.message).toContain(url);
  });

  it('createSite registers a site and answers its snippet', async () => {
    const site = await client.createSite({ name: 'sdk site', origins: ['https://sdk.example'] });
    expect(site.embed).toContain(`data-site="${site.siteKey}"`);
  });

  it('refuses a URL that is not http(s) before any request', () => {
    expect(() => new Client({ url: 'file:///etc', key: 'k' })).toThrow(SpareCyclesError);
  });

  it('createJob with no inputs is refused before any request', async () => {
    const error = await refusal(client.createJob({ module: 'a'.repeat(64), inputs: [] }));
    expect(error.code).toBe('bad_request');
  });
});

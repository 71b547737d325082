/**
 * The host page's `run()` fallback on the grid (routes/run.ts), through `inject` against a real
 * coordinator: a run finished by a Node volunteer equals the reference; and the attacks: a module
 * the site did not allow, a page calling it in a loop, a forged or foreign origin, an oversize
 * input, another site's run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startNodeVolunteer, type NodeVolunteer } from '../../../client/src/agent/index.ts';
import { decodePrimesOutput, encodePrimesInput } from '../../../wasm/tasks/primes/codec.ts';
import { countPrimesReference } from '../../../wasm/tasks/primes/reference.ts';
import { RUN_PRIORITY } from '../protocol/http.ts';
import { builtModule, prepareVolunteering, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from './testing.ts';
import { expectError } from './expect-error.ts';

let c: TestCoordinator;
let siteKey: string;
let primes: string;
const agents: NodeVolunteer[] = [];

beforeEach(async () => {
  c = await startTestCoordinator({ limits: { runSitePerMinute: 50 } });
  await c.listen();
  ({ siteKey, moduleHash: primes } = await prepareVolunteering(c, 'primes'));
  const patched = await c.api('PATCH', `/sites/${siteKey}`, { settings: { runModules: [primes], runPerMinute: 5 } });
  expect(patched.statusCode).toBe(200);
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.stop()));
  await c.close();
});

const input = encodePrimesInput(1, 10_000);

function post(options: { site?: string; module?: string; body?: Uint8Array; headers?: Record<string, string>; ip?: string } = {}) {
  return c.app.inject({
    method: 'POST',
    url: `/api/v1/sites/${options.site ?? siteKey}/run?module=${options.module ?? primes}`,
    headers: { 'content-type': 'application/octet-stream', ...options.headers },
    payload: Buffer.from(options.body ?? input),
    ...(options.ip ? { remoteAddress: options.ip } : {}),
  });
}

const result = (id: string, waitMs = 0, site = siteKey) => c.app.inject({ url: `/api/v1/sites/${site}/run/${id}?waitMs=${waitMs}` });

describe('POST /api/v1/sites/:key/run', () => {
  it('needs no operator key, creates a one-task job of the site above batch priority, and a volunteer finishes it', async () => {
    const created = await post({ headers: { origin: c.url, 'sec-fetch-site': 'same-origin' } });
    expect(created.statusCode).toBe(202);
    const { id, state } = created.json();
    expect(state).toBe('pending');
    expect(created.headers.location).toBe(`/api/v1/sites/${siteKey}/run/${id}`);
    const job = (await c.api('GET', `/jobs/${id}`)).json();
    expect(job).toMatchObject({ site: siteKey, priority: RUN_PRIORITY, counts: { total: 1 } });
    expect(RUN_PRIORITY).toBeGreaterThan(100);

    // Nobody volunteers yet: a short wait answers 202 pending.
    expect((await result(id, 0)).statusCode).toBe(202);

    agents.push(await startNodeVolunteer({ url: c.url, siteKey, workers: 1, execution: 'inline' }));
    const done = await result(id, 20_000);
    expect(done.statusCode).toBe(200);
    expect(done.headers['content-type']).toBe('application/octet-stream');
    expect(decodePrimesOutput(new Uint8Array(done.rawPayload))).toBe(countPrimesReference(1, 10_000));
  });

  it('refuses a module the site owner did not allow (403 module_not_allowed), even an uploaded one', async () => {
    const other = await c.app.inject({
      method: 'POST',
      url: '/api/v1/modules',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/wasm' },
      payload: Buffer.from(await builtModule('mandelbrot')),
    });
    expectError(await post({ module: other.json().hash }), 403, 'module_not_allowed');
    expectError(await post({ module: 'f'.repeat(64) }), 403, 'module_not_allowed');
    expectError(await post({ module: 'not-a-hash' }), 400, 'bad_request');
  });

  it('limits each visitor address to runPerMinute, with Retry-After, and keeps addresses apart', async () => {
    for (let i = 0; i < 5; i++) expect((await post({ ip: '203.0.113.1' })).statusCode).toBe(202);
    const refused = await post({ ip: '203.0.113.1' });
    expectError(refused, 429, 'rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    // A volunteer id or any other field the caller chooses changes nothing: the address is the key.
    expectError(await post({ ip: '203.0.113.1', headers: { 'x-volunteer': 'someone-else' } }), 429, 'rate_limited');
    expect((await post({ ip: '203.0.113.2' })).statusCode).toBe(202);
  });

  it("limits the whole site to runSitePerMinute, whatever the addresses", async () => {
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 60; i++) {
      const reply = await post({ ip: `198.51.100.${i}` });
      if (reply.statusCode === 202) accepted += 1;
      else if (reply.statusCode === 429) refused += 1;
    }
    expect(accepted).toBe(50);
    expect(refused).toBe(10);
  });

  it('refuses an input over maxRunInputBytes (413) before anything is created', async () => {
    expectError(await post({ body: new Uint8Array(64 * 1024 + 1) }), 413, 'payload_too_large');
    expect((await post({ body: new Uint8Array(64 * 1024) })).statusCode).toBe(202);
  });

  it("refuses a browser request from any origin but the coordinator's own (a forged or foreign frame)", async () => {
    expectError(await post({ headers: { origin: 'http://localhost:9999' } }), 403, 'forbidden');
    expectError(await post({ headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'forbidden');
    expectError(await post({ headers: { origin: c.url, 'sec-fetch-site': 'same-site' } }), 403, 'forbidden');
    const created = (await post()).json();
    expectError(await c.app.inject({ url: `/api/v1/sites/${siteKey}/run/${created.id}`, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'forbidden');
  });

  it('refuses other content types, unknown sites and unknown fields', async () => {
    expectError(await post({ headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectError(await post({ site: 'site_nope' }), 404, 'site_not_found');
    const extra = await c.app.inject({
      method: 'POST',
      url: `/api/v1/sites/${siteKey}/run?module=${primes}&priority=1000`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.from(input),
    });
    expectError(extra, 400, 'bad_request');
  });
});

describe('GET /api/v1/sites/:key/run/:id', () => {
  it("answers a site only about its own runs, and never about batch jobs", async () => {
    const { id } = (await post()).json();
    const other = (await c.api('POST', '/sites', { name: 'other', origins: ['http://localhost:9998'] })).json().siteKey;
    expectError(await result(id, 0, other), 404, 'job_not_found');
    const batch = await c.api('POST', '/jobs', { module: primes, inputs: [Buffer.from(input).toString('base64')] });
    expectError(await result(batch.json().id, 0), 404, 'job_not_found');
  });

  it('says a cancelled run had no volunteer', async () => {
    const { id } = (await post()).json();
    await c.api('POST', `/jobs/${id}/cancel`);
    const reply = await result(id, 0);
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ id, state: 'cancelled', error: { code: 'no_volunteer', message: expect.any(String) } });
  });

  it('GET /runs waits for many runs in one request and names those settled', async () => {
    const first = (await post()).json().id;
    const second = (await post()).json().id;
    const watch = (waitMs: number) => c.app.inject({ url: `/api/v1/sites/${siteKey}/runs?ids=${first},${second}&waitMs=${waitMs}` });
    expect((await watch(0)).json()).toEqual({ settled: [] });
    await c.api('POST', `/jobs/${second}/cancel`);
    expect((await watch(5_000)).json()).toEqual({ settled: [second] });
    // Another site's runs are never reported as anything but settled (fetching one says 404).
    const other = (await c.api('POST', '/sites', { name: 'other', origins: ['http://localhost:9998'] })).json().siteKey;
    const foreign = await c.app.inject({ url: `/api/v1/sites/${other}/runs?ids=${first}&waitMs=0` });
    expect(foreign.json()).toEqual({ settled: [first] });
    expectError(await c.app.inject({ url: `/api/v1/sites/${siteKey}/runs?ids=${Array(65).fill('a').join(',')}` }), 400, 'bad_request');
  });

  it('refuses a wait longer than 25 s', async () => {
    const { id } = (await post()).json();
    expectError(await result(id, 60_000), 400, 'bad_request');
  });
});

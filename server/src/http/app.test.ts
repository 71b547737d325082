import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableBomb } from '../../../wasm/testing/hostile-modules.ts';
import { watToWasm } from '../../../wasm/testing/wat.ts';
import { FRAME_CONFIG_ELEMENT_ID, type FrameConfig } from '../protocol/http.ts';
import { DEFAULT_SITE_SETTINGS } from '../sites/index.ts';
import { DEFAULT_QUOTA } from '../scheduler/reputation.ts';
import { builtModule, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from './testing.ts';
import { expectError } from './expect-error.ts';

let c: TestCoordinator;
beforeEach(async () => {
  c = await startTestCoordinator();
});
afterEach(async () => {
  await c.close();
});

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const u32pair = (lo: number, hi: number): Uint8Array => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setUint32(0, lo, true);
  new DataView(bytes.buffer).setUint32(4, hi, true);
  return bytes;
};

async function upload(bytes: Uint8Array, type = 'application/wasm') {
  return c.app.inject({
    method: 'POST',
    url: '/api/v1/modules',
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': type },
    payload: Buffer.from(bytes),
  });
}

async function primesModule(): Promise<string> {
  const reply = await upload(await builtModule('primes'));
  expect(reply.statusCode).toBe(201);
  return reply.json().hash;
}

async function job(body: Record<string, unknown>) {
  return c.api('POST', '/jobs', body);
}

describe('health and errors', () => {
  it('health needs no key', async () => {
    const reply = await c.app.inject({ url: '/api/v1/health' });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ status: 'ok' });
  });

  it('unknown routes are JSON 404s', async () => {
    expectError(await c.app.inject({ url: '/nope' }), 404, 'not_found', /GET \/nope/);
    expectError(await c.api('GET', '/nope'), 404, 'not_found');
  });

  it('every API route needs a key: missing, malformed or unknown → 401', async () => {
    for (const [method, url] of [
      ['GET', '/api/v1/jobs/x'],
      ['POST', '/api/v1/jobs'],
      ['POST', '/api/v1/sites'],
      ['GET', '/api/v1/sites/x'],
      ['PATCH', '/api/v1/sites/x'],
      ['POST', '/api/v1/modules'],
      ['GET', `/api/v1/modules/${'0'.repeat(64)}`],
      ['GET', '/api/v1/jobs/x/results'],
      ['POST', '/api/v1/jobs/x/cancel'],
    ] as const) {
      const missing = await c.app.inject({ method, url });
      expectError(missing, 401, 'unauthorized');
      expect(missing.headers['www-authenticate']).toBe('Bearer');
      expectError(await c.app.inject({ method, url, headers: { authorization: 'Basic abc' } }), 401, 'unauthorized');
      const guess = await c.app.inject({ method, url, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}x` } });
      expectError(guess, 401, 'unauthorized', /unknown key/);
    }
  });
});

describe('modules', () => {
  it('uploads (201), re-uploads (200) and reads metadata', async () => {
    const bytes = await builtModule('primes');
    const hash = createHash('sha256').update(bytes).digest('hex');
    const first = await upload(bytes);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ hash, abi: 'bytes', size: bytes.byteLength });
    expect(first.headers.location).toBe(`/api/v1/modules/${hash}`);
    const again = await upload(bytes, 'application/octet-stream');
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    const meta = await c.api('GET', `/modules/${hash}`);
    expect(meta.statusCode).toBe(200);
    expect(meta.json()).toMatchObject({ hash, abi: 'bytes', size: bytes.byteLength, url: `/modules/${hash}.wasm` });
  });

  it('names each problem of a bad module', async () => {
    expectError(await upload(new TextEncoder().encode('not wasm at all')), 400, 'invalid_module', /not a valid WebAssembly binary/);
    expectError(await upload(new Uint8Array()), 400, 'invalid_module', /empty body/);
    const missingRun = await watToWasm('(module (memory (export "memory") 1) (func (export "alloc") (param i32) (result i32) i32.const 0))');
    expectError(await upload(missingRun), 400, 'invalid_module', /run/);
    const forbidden = await watToWasm(`(module (import "env" "fetch" (func)) (memory (export "memory") 1)
      (func (export "alloc") (param i32) (result i32) i32.const 0) (func (export "run") (param i32 i32) (result i32) i32.const 0))`);
    expectError(await upload(forbidden), 400, 'invalid_module', /fetch/);
  });

  it('refuses a module that claims too much at instantiation, naming the claim, and stores nothing', async () => {
    const bomb = await tableBomb();
    expect(bomb.length).toBeLessThan(1024);
    const reply = await upload(bomb);
    expectError(reply, 400, 'invalid_module', /table 0 declares 10,000,000 entries; the limit is 1,000,000 entries in all tables together/);
    expect((reply.json() as { error: { message: string } }).error.message).toMatch(/tables: 64; the limit is 16/);
    const hash = createHash('sha256').update(bomb).digest('hex');
    expect((await c.app.inject({ method: 'GET', url: `/api/v1/modules/${hash}`, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })).statusCode).toBe(404);
    const growable = await watToWasm(`(module (table 1 2000000 funcref) (memory (export "memory") 1)
      (func (export "alloc") (param i32) (result i32) i32.const 0) (func (export "run") (param i32 i32) (result i32) i32.const 0))`);
    expectError(await upload(growable), 400, 'invalid_module', /table 0 may grow to 2,000,000 entries/);
  });

  it('refuses a module over the size limit with 413 and a wrong content type with 415', async () => {
    expectError(await upload(new Uint8Array(256 * 1024 + 1)), 413, 'payload_too_large', /262144 bytes/);
    expectError(await upload(await builtModule('primes'), 'image/png'), 415, 'unsupported_media_type');
    const json = await c.api('POST', '/modules', { bytes: 'AGFzbQ==' });
    expectError(json, 415, 'unsupported_media_type');
  });

  it('unknown and malformed hashes', async () => {
    expectError(await c.api('GET', `/modules/${'a'.repeat(64)}`), 404, 'module_not_found');
    expectError(await c.api('GET', '/modules/xyz'), 400, 'bad_request', /params/);
  });

  it('serves module bytes with immutable caching, ETag, CORS and CORP', async () => {
    const bytes = await builtModule('primes');
    const hash = (await upload(bytes)).json().hash as string;
    const reply = await c.app.inject({ url: `/modules/${hash}.wasm` });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toBe('application/wasm');
    expect(reply.headers.etag).toBe(`"${hash}"`);
    expect(reply.headers['cache-control']).toContain('immutable');
    expect(reply.headers['access-control-allow-origin']).toBe('*');
    expect(reply.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(new Uint8Array(reply.rawPayload)).toEqual(bytes);
    const cached = await c.app.inject({ url: `/modules/${hash}.wasm`, headers: { 'if-none-match': `"${hash}"` } });
    expect(cached.statusCode).toBe(304);
    expectError(await c.app.inject({ url: `/modules/${'b'.repeat(64)}.wasm` }), 404, 'module_not_found');
    expectError(await c.app.inject({ url: `/modules/${hash}.js` }), 404, 'module_not_found');
  });
});

describe('sites', () => {
  it('creates a site with its embed snippet and reads it back', async () => {
    const reply = await c.api('POST', '/sites', { name: 'Blog', origins: ['https://Example.com:443', 'http://localhost:3000', 'https://example.com'] });
    expect(reply.statusCode).toBe(201);
    const site = reply.json();
    expect(site.siteKey).toMatch(/^site_[A-Za-z0-9_-]+$/);
    expect(site.origins).toEqual(['https://example.com', 'http://localhost:3000']);
    expect(site.embed).toBe(`<script src="http://127.0.0.1:1/embed.js" data-site="${site.siteKey}" async></script>`);
    expect(site.settings).toEqual(DEFAULT_SITE_SETTINGS);
    const read = await c.api('GET', `/sites/${site.siteKey}`);
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(site);
    expectError(await c.api('GET', '/sites/site_unknown'), 404, 'site_not_found');
  });

  it.each([
    [{ name: 'x', origins: [] }, /origins/],
    [{ name: 'x', origins: ['example.com'] }, /origins\/0/],
    [{ name: 'x', origins: ['https://example.com/path'] }, /origins\/0/],
    // Origins go into the frame's CSP header: nothing that could start a directive or a policy.
    [{ name: 'x', origins: ['https://a;b.example'] }, /origins\/0/],
    [{ name: 'x', origins: ['https://a.example,https://b.example'] }, /origins\/0/],
    [{ name: 'x', origins: ["https://a.example'"] }, /origins\/0/],
    [{ name: 'x', origins: ['data:text/html,hi'] }, /origins\/0/],
    [{ name: '', origins: ['https://example.com'] }, /name/],
    [{ name: 'x', origins: ['https://example.com'], owner: 'me' }, /unknown field at \/owner/],
    [{ origins: ['https://example.com'] }, /name/],
  ])('refuses %o', async (body, message) => {
    expectError(await c.api('POST', '/sites', body), 400, 'bad_request', message);
  });

  it('registers settings with a site, fills the defaults, and changes them field by field with PATCH', async () => {
    const module = await primesModule();
    const colors = { background: '#FFFFFF', text: '#1d2330', accent: '#1f6feb', accentText: '#ffffff' };
    const created = await c.api('POST', '/sites', {
      name: 'Blog',
      origins: ['https://blog.example'],
      settings: { maxWorkers: 2, maxShare: 0.8, runModules: [module], language: 'fr', message: 'Merci de votre aide !', colors },
    });
    expect(created.statusCode).toBe(201);
    const site = created.json();
    const settings = {
      ...DEFAULT_SITE_SETTINGS,
      maxWorkers: 2,
      maxShare: 0.8,
      runModules: [module],
      language: 'fr',
      message: 'Merci de votre aide !',
      colors: { ...colors, background: '#ffffff' },
    };
    expect(site.settings).toEqual(settings);
    expect((await c.api('GET', `/sites/${site.siteKey}`)).json().settings).toEqual(settings);

    const patched = await c.api('PATCH', `/sites/${site.siteKey}`, {
      name: 'The blog',
      settings: { defaultShare: 0.25, pauseWhenHidden: false, runPerMinute: 600, message: null, colors: null },
    });
    expect(patched.statusCode).toBe(200);
    const next = { ...settings, defaultShare: 0.25, pauseWhenHidden: false, runPerMinute: 600, message: null, colors: null };
    expect(patched.json()).toEqual({ ...site, name: 'The blog', settings: next });
    expect((await c.api('GET', `/sites/${site.siteKey}`)).json()).toEqual(patched.json());

    const moved = await c.api('PATCH', `/sites/${site.siteKey}`, { origins: ['https://Blog.example:443', 'https://www.blog.example'] });
    expect(moved.json()).toMatchObject({ name: 'The blog', origins: ['https://blog.example', 'https://www.blog.example'], settings: next });
    expect((await c.api('PATCH', `/sites/${site.siteKey}`, {})).json()).toEqual(moved.json());
  });

  it('refuses a PATCH of an unknown site, and bad settings naming the problem, changing nothing', async () => {
    expectError(await c.api('PATCH', '/sites/site_unknown', { name: 'x' }), 404, 'site_not_found');
    const site = (await c.api('POST', '/sites', { name: 'Blog', origins: ['https://blog.example'], settings: { maxShare: 0.5 } })).json();
    const unknown = 'e'.repeat(64);
    for (const [settings, message] of [
      [{ defaultShare: 0.6 }, /settings\/defaultShare \(0.6\) must not exceed settings\/maxShare \(0.5\)/],
      [{ maxShare: 1, defaultShare: 0.1, runModules: [unknown] }, new RegExp(`settings/runModules/0: no module ${unknown}`)],
      [{ colors: { background: '#ffffff', text: '#777777', accent: '#1f6feb', accentText: '#ffffff' } }, /text #777777 on background #ffffff has contrast 4.47:1, below the 4.5:1/],
      [{ colors: { background: '#ffffff', text: '#000000', accent: '#1f6feb', accentText: '#6a6a6a' } }, /accentText #6a6a6a on accent #1f6feb/],
      [{ colors: { background: '#ffffff', text: '#000000', accent: '#aaaaaa', accentText: '#000000' } }, /accent #aaaaaa against background #ffffff has contrast 2.32:1, below the 3:1/],
      [{ colors: { background: 'white', text: '#000000', accent: '#000000', accentText: '#ffffff' } }, /expected a colour as #rrggbb at \/settings\/colors\/background/],
      [{ message: 'two\nlines' }, /expected plain text.* at \/settings\/message/],
      [{ message: 'bell\u0007' }, /\/settings\/message/],
      [{ message: 'half an emoji \ud83d' }, /body\/settings\/message contains a lone UTF-16 surrogate/],
      [{ message: 'x'.repeat(201) }, /\/settings\/message/],
      [{ maxWorkers: 65 }, /\/settings\/maxWorkers/],
      [{ maxShare: 0.05 }, /\/settings\/maxShare/],
      [{ runPerMinute: 601 }, /\/settings\/runPerMinute/],
      [{ runModules: Array.from({ length: 101 }, () => unknown) }, /\/settings\/runModules/],
      [{ language: 'de' }, /\/settings\/language/],
      [{ theme: 'dark' }, /unknown field at \/settings\/theme/],
    ] as const) {
      expectError(await c.api('PATCH', `/sites/${site.siteKey}`, { name: 'Changed', settings }), 400, 'bad_request', message);
    }
    expectError(await c.api('PATCH', `/sites/${site.siteKey}`, { origins: [] }), 400, 'bad_request', /origins/);
    expectError(await c.api('PATCH', `/sites/${site.siteKey}`, { siteKey: 'other' }), 400, 'bad_request', /unknown field at \/siteKey/);
    expectError(await c.api('POST', '/sites', { name: 'x', origins: ['https://x.example'], settings: { defaultShare: 1, maxShare: 0.9 } }), 400, 'bad_request', /defaultShare/);
    const notJson = await c.app.inject({
      method: 'PATCH',
      url: `/api/v1/sites/${site.siteKey}`,
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    expectError(notJson, 415, 'unsupported_media_type');
    expect((await c.api('GET', `/sites/${site.siteKey}`)).json()).toEqual(site);
  });

  it('refuses bodies that are not JSON', async () => {
    const reply = await c.app.inject({
      method: 'POST',
      url: '/api/v1/sites',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'text/plain' },
      payload: 'name=x',
    });
    expectError(reply, 415, 'unsupported_media_type');
    const broken = await c.app.inject({
      method: 'POST',
      url: '/api/v1/sites',
      headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expectError(broken, 400, 'bad_request', /JSON/);
  });
});

describe('jobs', () => {
  it('creates a job with defaults and reports its status', async () => {
    const module = await primesModule();
    const reply = await job({ module, inputs: [b64(u32pair(0, 100)), b64(u32pair(100, 200))], title: 'primes' });
    expect(reply.statusCode).toBe(201);
    const status = reply.json();
    expect(status).toMatchObject({
      state: 'active',
      module,
      title: 'primes',
      redundancy: 1,
      quorum: 1,
      adaptiveReplication: true,
      deadlineMs: 30_000,
      maxAttempts: 3,
      counts: { total: 2, pending: 2, running: 0, completed: 0, failed: 0, cancelled: 0 },
    });
    expect(reply.headers.location).toBe(`/api/v1/jobs/${status.id}`);
    const read = await c.api('GET', `/jobs/${status.id}`);
    expect(read.json()).toEqual(status);
    expectError(await c.api('GET', '/jobs/nope'), 404, 'job_not_found');

    expect(status).not.toHaveProperty('purpose');
    const explained = await job({ module, inputs: [b64(u32pair(0, 100))], title: 'primes', purpose: 'Primes below 100 for a maths lesson — merci' });
    expect(explained.json()).toMatchObject({ title: 'primes', purpose: 'Primes below 100 for a maths lesson — merci' });
    expect((await c.api('GET', `/jobs/${explained.json().id}`)).json()).toEqual(explained.json());

    const strict = await job({ module, inputs: [b64(u32pair(0, 100))], redundancy: 3, quorum: 2, adaptiveReplication: false });
    expect(strict.statusCode).toBe(201);
    expect(strict.json()).toMatchObject({ redundancy: 3, quorum: 2, adaptiveReplication: false });
  });

  it('refuses bad job bodies', async () => {
    const module = await primesModule();
    const input = b64(u32pair(0, 10));
    expectError(await job({ module: 'f'.repeat(64), inputs: [input] }), 404, 'module_not_found');
    expectError(await job({ module, inputs: [input, 'AAA', input] }), 400, 'bad_request', /inputs\/1 is not valid base64/);
    expectError(await job({ module, inputs: [input, 'AAAAAAAA', 'AB=='.replace('B', 'Bx')] }), 400, 'bad_request', /inputs\/2/);
    expectError(await job({ module, inputs: ['AB=='] }), 400, 'bad_request', /inputs\/0/);
    expectError(await job({ module, inputs: ['YW Jj'] }), 400, 'bad_request', /inputs\/0/);
    expectError(await job({ module, inputs: [] }), 400, 'bad_request', /inputs/);
    expectError(await job({ module, inputs: [input], quorum: 2, redundancy: 1 }), 400, 'bad_request', /quorum/);
    expectError(await job({ module, inputs: [input], deadlineMs: 5 }), 400, 'bad_request', /deadlineMs/);
    expectError(await job({ module, inputs: [input], adaptiveReplication: 'no' }), 400, 'bad_request', /adaptiveReplication/);
    expectError(await job({ module, inputs: [input], colour: 'red' }), 400, 'bad_request', /unknown field at \/colour/);
    expectError(await job({ module, inputs: [42] }), 400, 'bad_request', /inputs\/0/);
    expectError(await job({ module: 'abc', inputs: [input] }), 400, 'bad_request', /module/);
    expectError(await job({ module, inputs: [input], purpose: 'x'.repeat(281) }), 400, 'bad_request', /\/purpose/);
    expectError(await job({ module, inputs: [input], purpose: 'line\nbreak' }), 400, 'bad_request', /expected plain text.* at \/purpose/);
    expectError(await job({ module, inputs: [input], purpose: 'lone \udc00' }), 400, 'bad_request', /body\/purpose contains a lone UTF-16 surrogate/);
  });

  it('accepts empty inputs and refuses a body over the limit', async () => {
    const module = await primesModule();
    expect((await job({ module, inputs: [''] })).statusCode).toBe(201);
    const huge = await job({ module, inputs: ['A'.repeat(1024 * 1024)] });
    expectError(huge, 413, 'payload_too_large');
  });

  it('reads a volunteer\'s record once it has asked for work; names a bad or unknown id', async () => {
    expectError(await c.api('GET', '/volunteers/short'), 400, 'bad_request', /\^\[A-Za-z0-9_-\]\{8,128\}\$/);
    expectError(await c.api('GET', `/volunteers/${'z'.repeat(300)}`), 400, 'bad_request', /longer than 200 characters/);
    expectError(await c.api('GET', '/volunteers/never-seen-volunteer'), 404, 'volunteer_not_found', /never-seen-volunteer/);
    await c.store.claimTasks({
      volunteerId: 'volunteer-record-1',
      sessionId: 's',
      siteKey: 'k',
      slots: 1,
      now: 5,
      newLeaseId: () => 'lease-record-1',
      random: () => 0.5,
    });
    const reply = await c.api('GET', '/volunteers/volunteer-record-1');
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({
      id: 'volunteer-record-1',
      consecutiveValid: 0,
      valid: 0,
      invalid: 0,
      unchecked: 0,
      errors: 0,
      quota: DEFAULT_QUOTA.initial,
      strikes: 0,
      coolingDownUntil: 0,
      trusted: false,
      firstSeen: 5,
      lastSeen: 5,
    });
    const anonymous = await c.app.inject({ method: 'GET', url: '/api/v1/volunteers/volunteer-record-1' });
    expect(anonymous.statusCode).toBe(401);
  });

  it('streams results as NDJSON in input order, and cancels', async () => {
    const module = await primesModule();
    const inputs = Array.from({ length: 300 }, (_, i) => b64(u32pair(i * 10, i * 10 + 10)));
    const id = (await job({ module, inputs })).json().id as string;
    const results = await c.api('GET', `/jobs/${id}/results`);
    expect(results.statusCode).toBe(200);
    expect(results.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    const lines = results.body.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(300);
    expect(lines.map((line) => line.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(lines.every((line) => line.state === 'pending' && line.output === undefined)).toBe(true);

    const cancelled = await c.api('POST', `/jobs/${id}/cancel`);
    expect(cancelled.statusCode).toBe(200);
    expect(cancelled.json()).toMatchObject({ id, state: 'cancelled', counts: { total: 300, cancelled: 300, pending: 0 } });
    const after = (await c.api('GET', `/jobs/${id}/results`)).body.trimEnd().split('\n').map((line) => JSON.parse(line));
    expect(after.every((line) => line.state === 'cancelled')).toBe(true);
    expectError(await c.api('POST', '/jobs/nope/cancel'), 404, 'job_not_found');
    expectError(await c.api('GET', '/jobs/nope/results'), 404, 'job_not_found');
  });
});

describe('embed files', () => {
  it('serves embed.js for cross-origin pages', async () => {
    const reply = await c.app.inject({ url: '/embed.js' });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(reply.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(reply.headers['access-control-allow-origin']).toBe('*');
    expect(reply.headers['cache-control']).toMatch(/max-age=\d+/);
    expect(reply.body).toContain('embed');
  });

  it('serves the frame with a CSP naming the site\'s origins', async () => {
    const a = (await c.api('POST', '/sites', { name: 'A', origins: ['https://a.example', 'http://localhost:8081'] })).json();
    const b = (await c.api('POST', '/sites', { name: 'B', origins: ['https://b.example'] })).json();
    const frameA = await c.app.inject({ url: `/frame?site=${a.siteKey}`, headers: { host: '127.0.0.1:1' } });
    expect(frameA.statusCode).toBe(200);
    expect(frameA.headers['content-type']).toBe('text/html; charset=utf-8');
    const csp = String(frameA.headers['content-security-policy']);
    expect(csp).toContain('frame-ancestors https://a.example http://localhost:8081;');
    expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(csp).toContain('connect-src \'self\' http://127.0.0.1:1 ws://127.0.0.1:1');
    expect(csp).toContain("worker-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).not.toContain("'unsafe-eval'");
    expect(frameA.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expect(frameA.body).toContain('<title>frame</title>');
    const frameB = await c.app.inject({ url: `/frame?site=${b.siteKey}` });
    expect(String(frameB.headers['content-security-policy'])).toContain('frame-ancestors https://b.example;');
    expect(String(frameB.headers['content-security-policy'])).not.toContain('a.example');
  });

  it('builds the frame CSP from the configured public URL only, whatever Host the request names', async () => {
    const site = (await c.api('POST', '/sites', { name: 'A', origins: ['https://a.example'] })).json();
    for (const host of ['evil.example', 'evil.example:8080', '127.0.0.1:1']) {
      const frame = await c.app.inject({ url: `/frame?site=${site.siteKey}`, headers: { host } });
      expect(frame.statusCode).toBe(200);
      const csp = String(frame.headers['content-security-policy']);
      expect(csp).not.toContain('evil');
      expect(csp).toContain("connect-src 'self' http://127.0.0.1:1 ws://127.0.0.1:1;");
    }
  });

  it("carries the site's config in the frame page: one JSON element before </head>, unable to end it", async () => {
    const message = 'Thanks </script><script>alert(1)</script> & <!-- \u2028 \u2029 "quoted"';
    const site = (
      await c.api('POST', '/sites', { name: 'Blog </head> & co', origins: ['https://a.example'], settings: { message, maxWorkers: 3 } })
    ).json();
    const frame = await c.app.inject({ url: `/frame?site=${site.siteKey}` });
    expect(frame.statusCode).toBe(200);
    const pattern = new RegExp(`<script type="application/json" id="${FRAME_CONFIG_ELEMENT_ID}">([^<]*)</script>\n</head>`);
    const element = pattern.exec(frame.body);
    expect(element).not.toBeNull();
    expect(frame.body.match(new RegExp(FRAME_CONFIG_ELEMENT_ID, 'g'))).toHaveLength(1);
    // Nothing the site wrote can close the element or start another.
    expect(frame.body).not.toContain('<script>alert');
    expect(element![1]).not.toMatch(/[<>&\u2028\u2029]/);
    const config: FrameConfig = JSON.parse(element![1]!);
    expect(config).toEqual({
      siteKey: site.siteKey,
      siteName: 'Blog </head> & co',
      operator: 'Test Grid',
      settings: { ...DEFAULT_SITE_SETTINGS, message, maxWorkers: 3 },
    });
    // The JSON element is data, not script: the frame's script policy is unchanged.
    expect(String(frame.headers['content-security-policy'])).toContain("script-src 'self' 'wasm-unsafe-eval';");
    expect(frame.headers['cache-control']).toBe('no-cache');

    await c.api('PATCH', `/sites/${site.siteKey}`, { settings: { message: null } });
    const after = await c.app.inject({ url: `/frame?site=${site.siteKey}` });
    expect(JSON.parse(pattern.exec(after.body)![1]!).settings.message).toBeNull();
  });

  it('answers an unknown or missing site with a 404 page that no one may frame', async () => {
    for (const url of ['/frame?site=site_nope', '/frame', '/frame?site=%3Cscript%3E']) {
      const reply = await c.app.inject({ url });
      expect(reply.statusCode).toBe(404);
      expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(reply.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(reply.body).toMatch(/not registered|No site key/);
      expect(reply.body).not.toContain('<script>');
    }
  });

  it('serves assets with immutable caching', async () => {
    const reply = await c.app.inject({ url: '/assets/frame-abc123.js' });
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toMatch(/javascript/);
    expect(reply.headers['cache-control']).toContain('immutable');
    expect(reply.headers['cross-origin-resource-policy']).toBe('cross-origin');
    expectError(await c.app.inject({ url: '/assets/missing.js' }), 404, 'not_found');
    for (const url of ['/assets/..%2Fframe.html', '/assets/%2e%2e/frame.html', '/assets/..%5cframe.html']) {
      expect((await c.app.inject({ url })).statusCode).toBeGreaterThanOrEqual(400);
    }
  });
});

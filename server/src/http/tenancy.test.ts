/**
 * Accounts and scoped keys against a real coordinator (SQLite file, the real app through
 * `inject`): each attack of docs/security.md "Accounts and keys" performed — another author's
 * module, job and results; no key; a key of the wrong role; a revoked key; 5,000 guessed keys
 * from one address; a secret looked for in the database file and the log lines; lone surrogates.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { io as connectClient } from 'socket.io-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watToWasm } from '../../../wasm/testing/wat.ts';
import { expectError } from './expect-error.ts';
import { builtModule, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from './testing.ts';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
interface Key {
  id: string;
  secret: string;
}

const opened: TestCoordinator[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
});

async function coordinator(options: Parameters<typeof startTestCoordinator>[0] = {}): Promise<TestCoordinator> {
  const c = await startTestCoordinator(options);
  opened.push(c);
  return c;
}

async function createKey(c: TestCoordinator, role: 'author' | 'site', name: string): Promise<Key> {
  const reply = await c.api('POST', '/keys', { role, name });
  expect(reply.statusCode).toBe(201);
  return reply.json();
}

function as(c: TestCoordinator, secret: string | undefined, method: Method, path: string, body?: unknown, remoteAddress?: string): Promise<LightMyRequestResponse> {
  return c.app.inject({
    method,
    url: `/api/v1${path}`,
    ...(secret === undefined ? {} : { headers: { authorization: `Bearer ${secret}` } }),
    ...(body === undefined ? {} : { payload: body as object }),
    ...(remoteAddress ? { remoteAddress } : {}),
  });
}

function upload(c: TestCoordinator, secret: string, bytes: Uint8Array): Promise<LightMyRequestResponse> {
  return c.app.inject({
    method: 'POST',
    url: '/api/v1/modules',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/wasm' },
    payload: Buffer.from(bytes),
  });
}

const input = Buffer.from([0, 0, 0, 10]).toString('base64');

describe('keys', () => {
  it('are made by the operator, shown once, listed without secrets, and a revoked key is refused at once', async () => {
    const c = await coordinator();
    const created = await c.api('POST', '/keys', { role: 'author', name: 'Ada' });
    expect(created.statusCode).toBe(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const key = created.json();
    expect(key).toMatchObject({ role: 'author', name: 'Ada', revokedAt: null });
    expect(key.id).toMatch(/^k_[A-Za-z0-9_-]{12}$/);
    expect(key.secret).toMatch(/^sc_[A-Za-z0-9_-]{43}$/);

    const listed = await c.api('GET', '/keys');
    expect(listed.json()).toEqual({ keys: [{ id: key.id, role: 'author', name: 'Ada', createdAt: key.createdAt, revokedAt: null }] });
    expect(listed.body).not.toContain(key.secret);

    expect((await as(c, key.secret, 'GET', '/grid')).statusCode).toBe(200);
    const revoked = await c.api('DELETE', `/keys/${key.id}`);
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json().revokedAt).toEqual(expect.any(Number));
    expectError(await as(c, key.secret, 'GET', '/grid'), 401, 'unauthorized', /this key was revoked; ask the operator for a new one \(`sparecycles key create`\)/);
    expectError(await c.api('DELETE', '/keys/k_nobody'), 404, 'key_not_found');
  });

  it('refuse bad key requests naming the problem', async () => {
    const c = await coordinator();
    expectError(await c.api('POST', '/keys', { role: 'operator', name: 'x' }), 400, 'bad_request', /role/);
    expectError(await c.api('POST', '/keys', { role: 'author', name: '' }), 400, 'bad_request', /name/);
    expectError(await c.api('POST', '/keys', { role: 'author', name: 'x'.repeat(101) }), 400, 'bad_request', /name/);
    expectError(await c.api('POST', '/keys', { role: 'author', name: 'a\nb' }), 400, 'bad_request', /plain text/);
    expectError(await c.api('POST', '/keys', { role: 'author', name: 'x', extra: 1 }), 400, 'bad_request', /unknown field/);
    expect((await c.api('GET', '/keys')).json()).toEqual({ keys: [] });
  });
});

describe('tenancy', () => {
  it("another author's module, job, results and cancel answer 404, exactly as missing ones", async () => {
    const c = await coordinator();
    const ada = await createKey(c, 'author', 'Ada');
    const bob = await createKey(c, 'author', 'Bob');
    const primes = await builtModule('primes');
    const uploaded = await upload(c, ada.secret, primes);
    expect(uploaded.statusCode).toBe(201);
    const hash: string = uploaded.json().hash;
    expect((await upload(c, ada.secret, primes)).statusCode).toBe(200);

    const job = await as(c, ada.secret, 'POST', '/jobs', { module: hash, inputs: [input] });
    expect(job.statusCode).toBe(201);
    const id: string = job.json().id;
    expect(job.json().owner).toBe(ada.id);

    // Bob: every answer is the one a missing record gets (same status, code and message shape).
    const sameAsMissing = async (method: Method, path: string, missingPath: string, body?: unknown, missingBody?: unknown) => {
      const theirs = await as(c, bob.secret, method, path, body);
      const missing = await as(c, bob.secret, method, missingPath, missingBody);
      expect(theirs.statusCode).toBe(404);
      expect(theirs.json().error.code).toBe(missing.json().error.code);
      expect(theirs.body.replaceAll(id, 'ID').replaceAll(hash, 'HASH')).toBe(missing.body.replaceAll('nojob', 'ID').replaceAll('f'.repeat(64), 'HASH'));
    };
    await sameAsMissing('GET', `/modules/${hash}`, `/modules/${'f'.repeat(64)}`);
    await sameAsMissing('GET', `/jobs/${id}`, '/jobs/nojob');
    await sameAsMissing('GET', `/jobs/${id}/results`, '/jobs/nojob/results');
    await sameAsMissing('POST', `/jobs/${id}/cancel`, '/jobs/nojob/cancel');
    await sameAsMissing('POST', '/jobs', '/jobs', { module: hash, inputs: [input] }, { module: 'f'.repeat(64), inputs: [input] });
    // Bob's attempts changed nothing of Ada's.
    expect((await as(c, ada.secret, 'GET', `/jobs/${id}`)).json().state).toBe('active');

    // The same bytes uploaded by Bob are his own upload: 201, and then his jobs may use them.
    expect((await upload(c, bob.secret, primes)).statusCode).toBe(201);
    const bobsJob = await as(c, bob.secret, 'POST', '/jobs', { module: hash, inputs: [input] });
    expect(bobsJob.statusCode).toBe(201);
    expect((await as(c, ada.secret, 'GET', `/jobs/${bobsJob.json().id}`)).statusCode).toBe(404);

    // The operator sees everything.
    expect((await c.api('GET', `/jobs/${id}`)).json().owner).toBe(ada.id);
    expect((await c.api('GET', `/jobs/${bobsJob.json().id}`)).json().owner).toBe(bob.id);
    expect((await c.api('GET', `/modules/${hash}`)).statusCode).toBe(200);
    expect((await c.api('POST', `/jobs/${id}/cancel`)).json().state).toBe('cancelled');
  });

  it("a site owner sees and changes only their own sites; the operator, every site", async () => {
    const c = await coordinator();
    const blog = await createKey(c, 'site', 'Blog');
    const shop = await createKey(c, 'site', 'Shop');
    const created = await as(c, blog.secret, 'POST', '/sites', { name: 'Blog', origins: ['https://blog.example'] });
    expect(created.statusCode).toBe(201);
    const { siteKey, owner } = created.json();
    expect(owner).toBe(blog.id);
    expect((await as(c, blog.secret, 'GET', `/sites/${siteKey}`)).statusCode).toBe(200);
    expectError(await as(c, shop.secret, 'GET', `/sites/${siteKey}`), 404, 'site_not_found');
    expectError(await as(c, shop.secret, 'PATCH', `/sites/${siteKey}`, { name: 'Mine now' }), 404, 'site_not_found');
    expect((await c.api('GET', `/sites/${siteKey}`)).json().name).toBe('Blog');
    expect((await as(c, blog.secret, 'PATCH', `/sites/${siteKey}`, { name: 'Le blog' })).json().name).toBe('Le blog');
    expect((await c.api('PATCH', `/sites/${siteKey}`, { name: 'By the operator' })).json().owner).toBe(blog.id);
  });

  it('no key → 401; a key of the wrong role → 403 naming the role needed; /grid for every role', async () => {
    const c = await coordinator();
    const author = await createKey(c, 'author', 'Ada');
    const site = await createKey(c, 'site', 'Blog');
    const routes: [Method, string, 'author' | 'site' | 'operator'][] = [
      ['POST', '/modules', 'author'],
      ['GET', `/modules/${'a'.repeat(64)}`, 'author'],
      ['POST', '/jobs', 'author'],
      ['GET', '/jobs/x', 'author'],
      ['GET', '/jobs/x/results', 'author'],
      ['POST', '/jobs/x/cancel', 'author'],
      ['POST', '/sites', 'site'],
      ['GET', '/sites/x', 'site'],
      ['PATCH', '/sites/x', 'site'],
      ['POST', '/keys', 'operator'],
      ['GET', '/keys', 'operator'],
      ['DELETE', '/keys/k_x', 'operator'],
      ['GET', '/volunteers/abcdefgh', 'operator'],
    ];
    for (const [method, path, serves] of routes) {
      expectError(await as(c, undefined, method, path), 401, 'unauthorized', /missing credentials/);
      const needed = serves === 'author' ? /a task author or the operator/ : serves === 'site' ? /a site owner or the operator/ : /the key of the operator;/;
      if (serves !== 'author') expectError(await as(c, author.secret, method, path), 403, 'forbidden', needed);
      if (serves !== 'site') expectError(await as(c, site.secret, method, path), 403, 'forbidden', needed);
    }
    for (const secret of [author.secret, site.secret, TEST_ADMIN_KEY]) {
      expect((await as(c, secret, 'GET', '/grid')).json()).toEqual({ volunteersOnline: 0 });
    }
  });

  it('GET /grid counts the volunteer connections that are up', async () => {
    const c = await coordinator();
    const url = await c.listen();
    const { siteKey } = (await c.api('POST', '/sites', { name: 'x', origins: ['http://localhost:9999'] })).json();
    const clients = [1, 2].map((n) =>
      connectClient(`${url}/volunteer`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { siteKey, volunteerId: `volunteer-${n}-abcdef`, agent: 'node' } }),
    );
    try {
      await vi.waitFor(async () => expect((await c.api('GET', '/grid')).json()).toEqual({ volunteersOnline: 2 }), { timeout: 5000 });
      clients[0]!.disconnect();
      await vi.waitFor(async () => expect((await c.api('GET', '/grid')).json()).toEqual({ volunteersOnline: 1 }), { timeout: 5000 });
    } finally {
      for (const client of clients) client.disconnect();
    }
  });

  it('limits the active jobs of one owner, naming the limit and its value; others are not held back', async () => {
    const c = await coordinator({ limits: { maxActiveJobs: 2 } });
    const ada = await createKey(c, 'author', 'Ada');
    const bob = await createKey(c, 'author', 'Bob');
    const primes = await builtModule('primes');
    const { hash } = (await upload(c, ada.secret, primes)).json();
    await upload(c, bob.secret, primes);
    const submit = (secret: string) => as(c, secret, 'POST', '/jobs', { module: hash, inputs: [input] });
    const first = await submit(ada.secret);
    expect((await submit(ada.secret)).statusCode).toBe(201);
    expectError(await submit(ada.secret), 400, 'bad_request', /at most 2 \(SPARECYCLES_MAX_ACTIVE_JOBS\)/);
    expect((await submit(bob.secret)).statusCode).toBe(201);
    await as(c, ada.secret, 'POST', `/jobs/${first.json().id}/cancel`);
    expect((await submit(ada.secret)).statusCode).toBe(201);
  });
});

describe('failed authentications', () => {
  it('5,000 guessed keys from one address: ten are looked at, the rest get 429 with retry-after; honest keys from other addresses still work', async () => {
    const c = await coordinator();
    const ada = await createKey(c, 'author', 'Ada');
    const attacker = '198.51.100.7';
    const statuses = new Map<number, number>();
    const started = Date.now();
    let retryAfter: string | undefined;
    for (let i = 0; i < 5000; i++) {
      const reply = await as(c, `sc_guess${i}`, 'GET', '/grid', undefined, attacker);
      statuses.set(reply.statusCode, (statuses.get(reply.statusCode) ?? 0) + 1);
      if (reply.statusCode === 429) retryAfter ??= reply.headers['retry-after'] as string;
      if (i % 500 === 0) expect((await as(c, ada.secret, 'GET', '/grid', undefined, '192.0.2.1')).statusCode).toBe(200);
    }
    const seconds = (Date.now() - started) / 1000;
    // The burst of 10, then one a second for as long as the attack ran.
    expect(statuses.get(401)).toBeGreaterThanOrEqual(10);
    expect(statuses.get(401)).toBeLessThanOrEqual(10 + Math.ceil(seconds) + 1);
    expect(statuses.get(429)).toBe(5000 - statuses.get(401)!);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    const blocked = await as(c, ada.secret, 'GET', '/grid', undefined, attacker);
    expectError(blocked, 429, 'rate_limited', /too many failed authentications/);
    expect((await as(c, ada.secret, 'GET', '/grid', undefined, '192.0.2.2')).statusCode).toBe(200);
  }, 60_000);
});

describe('secrets', () => {
  it('appear nowhere in the database files or the log lines, however the key is used', async () => {
    const lines: string[] = [];
    const c = await coordinator({ logStream: { write: (line) => void lines.push(line) } });
    const key = await createKey(c, 'author', 'Ada');
    const wrong = 'sc_this-is-a-wrong-guess-0123456789';
    await as(c, key.secret, 'GET', '/grid');
    await as(c, wrong, 'GET', '/grid');
    await upload(c, key.secret, await builtModule('primes'));
    await as(c, key.secret, 'GET', '/jobs/nothing');
    await c.api('DELETE', `/keys/${key.id}`);
    await as(c, key.secret, 'GET', '/grid');
    expect(lines.length).toBeGreaterThan(5);
    const log = lines.join('');
    expect(log).toContain('/api/v1/grid');
    for (const secret of [key.secret, wrong, TEST_ADMIN_KEY]) expect(log).not.toContain(secret);

    await c.store.close();
    const files = (await readdir(c.dir)).filter((name) => name.startsWith('sparecycles.db'));
    expect(files).toContain('sparecycles.db');
    for (const name of files) {
      const bytes = await readFile(join(c.dir, name));
      for (const secret of [key.secret, wrong]) {
        expect(bytes.includes(Buffer.from(secret)), `${secret} in ${name}`).toBe(false);
        expect(bytes.includes(Buffer.from(secret.slice(3))), `${secret} (without prefix) in ${name}`).toBe(false);
      }
    }
  });
});

describe('text that cannot be stored as given', () => {
  it('a lone surrogate anywhere in a JSON body is refused with 400 naming where, and nothing is created', async () => {
    const c = await coordinator();
    const { hash } = (await upload(c, TEST_ADMIN_KEY, await builtModule('primes'))).json();
    const send = (path: string, payload: string) =>
      c.app.inject({ method: 'POST', url: `/api/v1${path}`, headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' }, payload });
    expectError(await send('/jobs', `{"module":"${hash}","inputs":["${input}"],"title":"half \\ud83d"}`), 400, 'bad_request', /^body\/title contains a lone UTF-16 surrogate/);
    expectError(await send('/keys', '{"role":"author","name":"\\udc00"}'), 400, 'bad_request', /^body\/name contains/);
    expectError(await send('/sites', '{"name":"x","origins":["https://a.example"],"\\ud800":1}'), 400, 'bad_request', /^body \(a field name\) contains/);
    expect((await c.api('GET', '/keys')).json()).toEqual({ keys: [] });
    // A surrogate pair is one character, stored and read back as sent.
    const paired = await send('/jobs', `{"module":"${hash}","inputs":["${input}"],"title":"\\u00e9t\\u00e9 \\ud83d\\ude00"}`);
    expect(paired.statusCode).toBe(201);
    expect((await c.api('GET', `/jobs/${paired.json().id}`)).json().title).toBe('été 😀');
  });

  it('a JSON body that is not UTF-8 is refused, not read as U+FFFD', async () => {
    const c = await coordinator();
    const payload = Buffer.concat([Buffer.from('{"role":"author","name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const reply = await c.app.inject({ method: 'POST', url: '/api/v1/keys', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' }, payload });
    expectError(reply, 400, 'bad_request', /not valid UTF-8/);
    expect((await c.api('GET', '/keys')).json()).toEqual({ keys: [] });
    // Prototype poisoning is still refused as fastify's own parser does.
    const poisoned = await c.app.inject({ method: 'POST', url: '/api/v1/keys', headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/json' }, payload: '{"role":"author","name":"x","__proto__":{"admin":true}}' });
    expect(poisoned.statusCode).toBe(400);
  });

  it('an invalid module upload still refuses the module, whatever the key', async () => {
    const c = await coordinator();
    const author = await createKey(c, 'author', 'Ada');
    const bad = await watToWasm('(module (import "env" "fetch" (func)) (memory (export "memory") 1))');
    expectError(await upload(c, author.secret, bad), 400, 'invalid_module');
  });
});

/**
 * fast-check fuzzing of the REST API's bodies, query strings and path parameters, as four callers
 * (no key or a wrong one, an author, a site owner, the operator) against a coordinator that holds
 * another author's module and job and another site owner's site. Whatever is sent: never a 500,
 * every refusal the one coded `{ error }` body with its code's status, and never another tenant's
 * data (their records' ids answer no 2xx, their unguessable texts appear in no response).
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS, type ErrorCode } from '../protocol/errors.ts';
import { builtModule, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from './testing.ts';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** What the other tenants hold: texts nobody else can guess, and ids the fuzzer is handed. */
const ADA_TITLE = 'ada-private-title-7f3a9c';
const ADA_PURPOSE = 'ada-private-purpose-41be0d';
const BLOG_NAME = 'blog-private-name-c2d8e1';

let c: TestCoordinator;
let ada: { id: string; secret: string };
let bob: { id: string; secret: string };
let shop: { id: string; secret: string };
let revoked: string;
let adaJob: string;
let adaModule: string;
let blogSite: string;
let bobJob: string;
let bobModule: string;

beforeAll(async () => {
  c = await startTestCoordinator();
  const key = async (role: 'author' | 'site', name: string) => (await c.api('POST', '/keys', { role, name })).json();
  ada = await key('author', 'Ada');
  bob = await key('author', 'Bob');
  const blog = await key('site', 'Blog');
  shop = await key('site', 'Shop');
  const gone = await key('author', 'Gone');
  revoked = gone.secret;
  await c.api('DELETE', `/keys/${gone.id}`);
  const primes = Buffer.from(await builtModule('primes'));
  const upload = (secret: string) =>
    c.app.inject({ method: 'POST', url: '/api/v1/modules', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/wasm' }, payload: primes });
  adaModule = (await upload(ada.secret)).json().hash;
  const input = Buffer.from([0, 0, 0, 10]).toString('base64');
  const job = (secret: string, body: object) =>
    c.app.inject({ method: 'POST', url: '/api/v1/jobs', headers: { authorization: `Bearer ${secret}` }, payload: body });
  adaJob = (await job(ada.secret, { module: adaModule, inputs: [input], title: ADA_TITLE, purpose: ADA_PURPOSE })).json().id;
  // Bob has a module (the mandelbrot one, not Ada's) and a job of his own, so his own requests can succeed.
  const mandel = Buffer.from(await builtModule('mandelbrot'));
  bobModule = (await c.app.inject({ method: 'POST', url: '/api/v1/modules', headers: { authorization: `Bearer ${bob.secret}`, 'content-type': 'application/wasm' }, payload: mandel })).json().hash;
  bobJob = (await job(bob.secret, { module: bobModule, inputs: [input] })).json().id;
  blogSite = (
    await c.app.inject({ method: 'POST', url: '/api/v1/sites', headers: { authorization: `Bearer ${blog.secret}` }, payload: { name: BLOG_NAME, origins: ['https://blog.example'] } })
  ).json().siteKey;
}, 30_000);

afterAll(async () => {
  await c?.close();
});

const surrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
/** Any text, lone surrogates included now and then. */
const text = fc.string({ unit: fc.oneof({ weight: 12, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: surrogate }), maxLength: 40 });
const leaf = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(text, tie('value'), { maxKeys: 4 })),
})).value;

/** Ids the fuzzer may aim at: the other tenants', the caller's own, and made-up ones. */
const idLike = () => fc.oneof(fc.constant(adaJob), fc.constant(bobJob), fc.constant(blogSite), fc.constant(adaModule), fc.constant(bobModule), fc.stringMatching(/^[A-Za-z0-9_%-]{0,70}$/));

/** Mostly a valid value, now and then a hostile one. */
const mostly = <T,>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: json });
const simpleText = fc.stringMatching(/^[A-Za-z0-9 ]{1,20}$/);

/** Bodies shaped like each route's (keys, sites, jobs), with fields drawn from plausible and hostile values. */
const plausible = () =>
  fc.oneof(
    fc.record({ role: mostly(fc.constantFrom('author', 'site')), name: fc.oneof(simpleText, text) }, { requiredKeys: ['role', 'name'] }),
    fc.record(
      {
        name: fc.oneof(simpleText, text),
        origins: mostly(fc.array(fc.oneof(fc.constant('https://x.example'), fc.webUrl()), { minLength: 1, maxLength: 3 })),
        settings: mostly(fc.record({ maxShare: fc.double({ min: 0, max: 1.5, noNaN: true }), runModules: fc.array(fc.constant(adaModule), { maxLength: 1 }), message: text }, { requiredKeys: [] })),
      },
      { requiredKeys: ['name', 'origins'] },
    ),
    fc.record(
      {
        module: fc.oneof(fc.constant(adaModule), fc.constant(bobModule), fc.stringMatching(/^[0-9a-f]{64}$/), text),
        inputs: mostly(fc.array(fc.oneof(fc.constant('AAAACg=='), fc.base64String({ maxLength: 12 }), text), { minLength: 1, maxLength: 4 })),
        title: fc.oneof(simpleText, text),
        purpose: fc.oneof(simpleText, text),
        redundancy: fc.integer({ min: -1, max: 17 }),
        quorum: fc.integer({ min: -1, max: 17 }),
        priority: fc.integer({ min: -1, max: 1001 }),
      },
      { requiredKeys: ['module', 'inputs'] },
    ),
  );

const routes: [Method, (id: string) => string][] = [
  ['GET', () => '/grid'],
  ['POST', () => '/modules'],
  ['GET', (id) => `/modules/${id}`],
  ['POST', () => '/jobs'],
  ['GET', (id) => `/jobs/${id}`],
  ['GET', (id) => `/jobs/${id}/results`],
  ['POST', (id) => `/jobs/${id}/cancel`],
  ['POST', () => '/sites'],
  ['GET', (id) => `/sites/${id}`],
  ['PATCH', (id) => `/sites/${id}`],
  ['POST', () => '/keys'],
  ['GET', () => '/keys'],
  ['DELETE', (id) => `/keys/${id}`],
  ['GET', (id) => `/volunteers/${id}`],
];

/** A query string of random keys and bytes, percent-encoded as a client could send them. */
const query = fc.array(fc.tuple(fc.stringMatching(/^[a-z]{1,6}$/), fc.uint8Array({ maxLength: 8 })), { maxLength: 3 }).map((pairs) =>
  pairs.length === 0 ? '' : `?${pairs.map(([k, bytes]) => `${k}=${[...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')}`).join('&')}`,
);

type Caller = ['none' | 'wrong' | 'revoked' | 'bob' | 'shop' | 'operator', string | undefined];
const callers = () =>
  fc.oneof(
    { weight: 1, arbitrary: fc.constantFrom<Caller>(['none', undefined], ['wrong', 'sc_wrong-guess'], ['revoked', revoked]) },
    { weight: 6, arbitrary: fc.constantFrom<Caller>(['bob', bob.secret], ['shop', shop.secret], ['operator', TEST_ADMIN_KEY]) },
  );

const body = () =>
  fc.oneof(
    { weight: 4, arbitrary: plausible().map((value) => ({ type: 'application/json', payload: JSON.stringify(value) })) },
    json.map((value) => ({ type: 'application/json', payload: JSON.stringify(value) ?? 'null' })),
    fc.string({ maxLength: 30 }).map((raw) => ({ type: 'application/json', payload: raw })),
    fc.uint8Array({ maxLength: 30 }).map((bytes) => ({ type: fc.sample(fc.constantFrom('application/json', 'application/wasm', 'text/plain'), 1)[0]!, payload: Buffer.from(bytes) })),
    fc.constant(undefined),
  );

let address = 0;

function checkReply(reply: LightMyRequestResponse, caller: string, method: Method, path: string): void {
  expect(reply.statusCode, `${caller} ${method} ${path}: ${reply.body}`).toBeLessThan(500);
  if (reply.statusCode >= 400) {
    const error = (reply.json() as { error?: { code?: string; message?: string } }).error;
    expect(typeof error?.code, `${method} ${path}: ${reply.body}`).toBe('string');
    expect(typeof error?.message).toBe('string');
    expect(ERROR_STATUS[error!.code as ErrorCode]).toBe(reply.statusCode);
  }
  if (caller === 'operator') return;
  // Nobody but the operator and the owners sees the other tenants' records.
  for (const secret of [ADA_TITLE, ADA_PURPOSE, BLOG_NAME]) expect(reply.body, `${caller} ${method} ${path}`).not.toContain(secret);
  const ok = reply.statusCode < 300;
  const target = path.split('?')[0]!;
  if (target.startsWith(`/jobs/${adaJob}`) || target.startsWith(`/modules/${adaModule}`) || target.startsWith(`/sites/${blogSite}`)) {
    expect(ok, `${caller} ${method} ${path} → ${reply.statusCode}`).toBe(false);
  }
}

describe('REST fuzzing', () => {
  it('bodies, query strings and ids from every kind of caller: never a 500, always a coded error, never another tenant\'s data', async () => {
    await fc.assert(
      fc.asyncProperty(callers(), fc.constantFrom(...routes), idLike(), query, body(), async ([caller, secret], [method, path], id, qs, sent) => {
        // The operator may change anyone's records: not those the end of the test looks at.
        fc.pre(!(caller === 'operator' && method !== 'GET' && [adaJob, blogSite].includes(id)));
        const url = `/api/v1${path(encodeURIComponent(id).replace(/%25/g, '%'))}${qs}`;
        const reply = await c.app.inject({
          method,
          url,
          // A fresh address each time, so wrong keys meet the API rather than the rate limit.
          remoteAddress: `10.${(++address >> 16) & 255}.${(address >> 8) & 255}.${address & 255}`,
          headers: { ...(secret ? { authorization: `Bearer ${secret}` } : {}), ...(sent ? { 'content-type': sent.type } : {}) },
          ...(sent ? { payload: sent.payload } : {}),
        });
        checkReply(reply, caller, method, url.slice('/api/v1'.length));
        // Bob never gets a job made from Ada's module.
        if (caller === 'bob' && method === 'POST' && path(id) === '/jobs' && reply.statusCode === 201) {
          expect(reply.json().module).not.toBe(adaModule);
        }
      }),
      { numRuns: 4000 },
    );
    // Whatever they sent, the other tenants' records are as they were.
    const job = (await c.api('GET', `/jobs/${adaJob}`)).json();
    expect(job).toMatchObject({ state: 'active', title: ADA_TITLE, owner: ada.id });
    expect((await c.api('GET', `/sites/${blogSite}`)).json().name).toBe(BLOG_NAME);
  }, 60_000);
});

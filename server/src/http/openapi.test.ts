import { Type, type TSchema } from '@sinclair/typebox';
import Fastify, { type HTTPMethods, type LightMyRequestResponse, type RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PREFIX } from '../protocol/http.ts';
import { installErrorHandlers } from './errors.ts';
import { DOCS_CSP, DOCS_PATH, ErrorReply, OPENAPI_PATH, rawBody, registerOpenApi } from './openapi.ts';
import { builtModule, startTestCoordinator, TEST_ADMIN_KEY, type TestCoordinator } from './testing.ts';
import { compileChecker, typeboxValidatorCompiler } from './validation.ts';

interface Operation {
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: { format?: string; description?: string } }> };
  responses: Record<string, unknown>;
}
interface Document {
  openapi: string;
  security: Record<string, string[]>[];
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
  paths: Record<string, Record<string, Operation>>;
}

let c: TestCoordinator;
/** Every route the app registered, as fastify's `onRoute` hook saw it: whatever any module adds. */
const routes: RouteOptions[] = [];
let doc: Document;

beforeAll(async () => {
  c = await startTestCoordinator({ onRoute: (route) => routes.push(route) });
  const reply = await c.app.inject({ url: OPENAPI_PATH });
  expect(reply.statusCode).toBe(200);
  doc = reply.json();
});
afterAll(async () => {
  await c.close();
});

const methodsOf = (route: RouteOptions): HTTPMethods[] => (Array.isArray(route.method) ? route.method : [route.method]);
/** `/jobs/:id` → `/jobs/{id}`. */
const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}');

/**
 * Every `/api/v1` route with each of its methods. HEAD is left out: fastify adds one beside every
 * GET by itself, and the document describes the GET.
 */
function apiOperations(): { method: string; url: string }[] {
  return routes
    .filter((route) => route.url.startsWith(`${API_PREFIX}/`))
    .flatMap((route) => methodsOf(route).filter((method) => method !== 'HEAD').map((method) => ({ method, url: route.url })));
}

describe('the OpenAPI document', () => {
  it('is served without a key and describes every /api/v1 route with its method', () => {
    const operations = apiOperations();
    expect(operations.length).toBeGreaterThanOrEqual(15);
    const missing = operations.filter(({ method, url }) => !doc.paths[openApiPath(url)]?.[method.toLowerCase()]);
    expect(missing).toEqual([]);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('describes nothing that is not an /api/v1 route (no static files, no docs page)', () => {
    const registered = new Set(apiOperations().map(({ method, url }) => `${method.toLowerCase()} ${openApiPath(url)}`));
    const described = Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`));
    expect(described.filter((operation) => !registered.has(operation))).toEqual([]);
    expect(described.length).toBe(registered.size);
  });

  it('gives every operation a tag, a success response and the one error body', () => {
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method} ${path}`;
        expect(operation.tags?.length, where).toBeGreaterThan(0);
        expect(Object.keys(operation.responses).some((code) => /^[23]/.test(code)), where).toBe(true);
        expect(operation.responses['4XX'], where).toBeDefined();
      }
    }
  });

  it('says which routes need a key, and the API agrees: each needs one exactly when documented so', async () => {
    expect(doc.components.securitySchemes['bearerAuth']).toEqual({ type: 'http', scheme: 'bearer' });
    let address = 1;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const needsKey = (operation.security ?? doc.security).length > 0;
        const reply = await c.app.inject({
          method: method.toUpperCase() as HTTPMethods,
          url: path.replace(/\{\w+\}/g, 'x'),
          // Each from its own address: failed authentications are rate-limited per address.
          remoteAddress: `10.0.${Math.floor(address / 250)}.${(address++ % 250) + 1}`,
        });
        if (needsKey) {
          expect(reply.statusCode, `${method} ${path}`).toBe(401);
          expect(reply.json().error.code).toBe('unauthorized');
        } else {
          expect(reply.statusCode, `${method} ${path}`).not.toBe(401);
        }
      }
    }
  });

  it('describes a module upload as application/wasm bytes', () => {
    const upload = doc.paths[`${API_PREFIX}/modules`]?.['post'];
    expect(upload?.requestBody?.content['application/wasm']?.schema).toMatchObject({ format: 'binary', description: 'the WebAssembly module' });
  });
});

/** The schema a route declares for a reply of `status` (a JSON one), if any. */
function declaredResponse(method: string, url: string, status: number): TSchema | undefined {
  const route = routes.find((candidate) => candidate.url === url && methodsOf(candidate).includes(method as HTTPMethods));
  if (!route) throw new Error(`no route ${method} ${url}`);
  const responses = (route.schema?.response ?? {}) as Record<string, TSchema & { content?: Record<string, { schema: TSchema }> }>;
  const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
  return declared?.content ? declared.content['application/json']?.schema : declared;
}

describe('the replies are what the document says', () => {
  /** Calls `path` (a request to route `url`) and checks the reply against the route's declared schema. */
  async function call(method: HTTPMethods, url: string, path: string, options: { body?: unknown; wasm?: Uint8Array; key?: boolean } = {}): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = options.key === false ? {} : { authorization: `Bearer ${TEST_ADMIN_KEY}` };
    if (options.wasm) headers['content-type'] = 'application/wasm';
    const reply = await c.app.inject({
      method,
      url: path,
      headers,
      ...(options.wasm ? { payload: Buffer.from(options.wasm) } : options.body === undefined ? {} : { payload: options.body as object }),
    });
    const schema = reply.statusCode >= 400 ? ErrorReply : declaredResponse(method, url, reply.statusCode);
    expect(schema, `${method} ${path} answered ${reply.statusCode}, which its route does not describe`).toBeDefined();
    const checked = compileChecker(schema as TSchema, 'reply')(reply.json());
    expect(checked, `${method} ${path}`).toEqual({ ok: true, value: reply.json() });
    return reply;
  }

  it('for service, modules, sites, volunteers and run()', async () => {
    await call('GET', `${API_PREFIX}/health`, `${API_PREFIX}/health`, { key: false });
    const wasm = await builtModule('primes');
    const created = await call('POST', `${API_PREFIX}/modules`, `${API_PREFIX}/modules`, { wasm });
    expect(created.statusCode).toBe(201);
    const again = await call('POST', `${API_PREFIX}/modules`, `${API_PREFIX}/modules`, { wasm });
    expect(again.statusCode).toBe(200);
    const hash: string = created.json().hash;
    await call('GET', `${API_PREFIX}/modules/:hash`, `${API_PREFIX}/modules/${hash}`);
    await call('GET', `${API_PREFIX}/modules/:hash`, `${API_PREFIX}/modules/${'0'.repeat(64)}`);

    const site = await call('POST', `${API_PREFIX}/sites`, `${API_PREFIX}/sites`, { body: { name: 'docs', origins: ['https://docs.example'] } });
    const key: string = site.json().siteKey;
    await call('GET', `${API_PREFIX}/sites/:key`, `${API_PREFIX}/sites/${key}`);
    await call('PATCH', `${API_PREFIX}/sites/:key`, `${API_PREFIX}/sites/${key}`, { body: { settings: { runModules: [hash] } } });
    await call('GET', `${API_PREFIX}/volunteers/:id`, `${API_PREFIX}/volunteers/nobody-here`);

    const run = await c.app.inject({
      method: 'POST',
      url: `${API_PREFIX}/sites/${key}/run?module=${hash}`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: Buffer.alloc(8),
    });
    expect(run.statusCode).toBe(202);
    expect(compileChecker(declaredResponse('POST', `${API_PREFIX}/sites/:key/run`, 202) as TSchema, 'reply')(run.json()).ok).toBe(true);
    const id: string = run.json().id;
    await call('GET', `${API_PREFIX}/sites/:key/run/:id`, `${API_PREFIX}/sites/${key}/run/${id}?waitMs=0`, { key: false });
    await call('GET', `${API_PREFIX}/sites/:key/runs`, `${API_PREFIX}/sites/${key}/runs?ids=${id}&waitMs=0`, { key: false });
  });
});

describe('rawBody', () => {
  it('describes a body the validator never sees, while the JSON body beside it is still validated', async () => {
    const app = Fastify();
    app.setValidatorCompiler(typeboxValidatorCompiler);
    installErrorHandlers(app);
    registerOpenApi(app, { publicUrl: 'http://127.0.0.1:1', version: '0.0.0' });
    const Options = Type.Object({ size: Type.Integer() }, { additionalProperties: false });
    app.register(async (api) => {
      api.addContentTypeParser('application/x-ndjson', (_request, payload, done) => done(null, payload));
      api.post(
        `${API_PREFIX}/things`,
        { schema: rawBody({ 'application/x-ndjson': { description: 'one thing per line', schema: Options } }, Options) },
        async (request) => ({ streamed: typeof (request.body as { pipe?: unknown }).pipe === 'function' }),
      );
    });
    const operation = (await app.inject({ url: OPENAPI_PATH })).json().paths[`${API_PREFIX}/things`].post;
    expect(Object.keys(operation.requestBody.content)).toEqual(['application/json', 'application/x-ndjson']);
    expect(operation.requestBody.content['application/x-ndjson'].schema).toMatchObject({ type: 'object', description: 'one thing per line' });

    const json = (payload: unknown) => app.inject({ method: 'POST', url: `${API_PREFIX}/things`, payload: payload as object });
    expect((await json({ size: 1 })).json()).toEqual({ streamed: false });
    expect((await json({ size: 'big' })).statusCode).toBe(400);
    const ndjson = await app.inject({
      method: 'POST',
      url: `${API_PREFIX}/things`,
      headers: { 'content-type': 'application/x-ndjson' },
      payload: '{"size":1}\n{"size":2}\n',
    });
    expect(ndjson.json()).toEqual({ streamed: true });
    await app.close();
  });
});

describe('the docs page', () => {
  it('is served with everything it loads from this coordinator, under its own CSP', async () => {
    const page = await c.app.inject({ url: DOCS_PATH });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toBe(DOCS_CSP);
    const links = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(links.length).toBeGreaterThanOrEqual(3);
    for (const link of links) {
      // Same origin: a path, never a scheme or a host (no CDN).
      expect(link, link).toMatch(/^\/(?!\/)/);
      const asset = await c.app.inject({ url: link });
      expect(asset.statusCode, link).toBe(200);
      expect(asset.body, link).not.toMatch(/https?:\/\/(?:unpkg|cdn|cdnjs|fonts\.googleapis)/);
    }
    const initializer = await c.app.inject({ url: `${DOCS_PATH}/static/swagger-initializer.js` });
    expect(initializer.body).toContain('validatorUrl: null');
    // The page reads the same document.
    expect((await c.app.inject({ url: `${DOCS_PATH}/json` })).json()).toEqual(doc);
  });

  it('does not put its CSP on the API', async () => {
    const health = await c.app.inject({ url: `${API_PREFIX}/health` });
    expect(health.headers['content-security-policy']).toBeUndefined();
  });
});

/**
 * Test support: a real coordinator (SQLite file in a temp dir, the real scheduler, the HTTP app and
 * the `/volunteer` namespace) for the HTTP and socket tests. Not used in production.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, LightMyRequestResponse, RouteOptions } from 'fastify';
import type { Limits } from '../config.ts';
import { newId, newKeyId, newKeySecret, newSiteKey } from '../ids.ts';
import { createJobEvents, type JobEvents } from '../jobs/index.ts';
import type { QuotaLimits } from '../scheduler/reputation.ts';
import { createScheduler, type Scheduler } from '../scheduling/index.ts';
import { attachVolunteerSocket, type VolunteerSocket } from '../socket/volunteer.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { buildApp } from './app.ts';
import { moduleUrl } from './routes/modules.ts';

export const TEST_ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export const TEST_LIMITS: Limits = {
  maxModuleBytes: 256 * 1024,
  maxMemoryBytes: 16 * 1024 * 1024,
  maxOutputBytes: 64 * 1024,
  maxJobBodyBytes: 1024 * 1024,
  maxInputBytes: 64 * 1024,
  maxTasksPerJob: 5_000_000,
  streamIdleMs: 30_000,
  defaultDeadlineMs: 30_000,
  defaultMaxAttempts: 3,
  maxRunInputBytes: 64 * 1024,
  runSitePerMinute: 600,
  maxActiveJobs: 1000,
  authFailureBurst: 10,
  authFailuresPerMinute: 60,
  socketEventsPerSecond: 10,
  socketEventBurst: 64,
  addressEventsPerSecond: 50,
  addressEventBurst: 500,
  socketFloodDisconnect: 100,
  // Every test volunteer connects from 127.0.0.1: suites with many of them must not meet the cap
  // (defences.test.ts and the flood test set their own).
  connectionsPerAddress: 10_000,
  socketInflightBytes: 64 * 1024 * 1024,
  ungrantedResultBytesPerSecond: 32 * 1024 * 1024,
};

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A compiled example module (`npm run build:wasm` makes them). */
export async function builtModule(name: 'primes' | 'mandelbrot'): Promise<Uint8Array> {
  return new Uint8Array(await readFile(join(ROOT, 'dist/wasm', `${name}.wasm`)));
}

/** Registers a site and uploads a built example module: what every volunteer test starts from. */
export async function prepareVolunteering(
  coordinator: TestCoordinator,
  module: 'primes' | 'mandelbrot',
): Promise<{ siteKey: string; moduleHash: string }> {
  const site = await coordinator.api('POST', '/sites', { name: 'test', origins: ['http://localhost:9999'] });
  const upload = await coordinator.app.inject({
    method: 'POST',
    url: '/api/v1/modules',
    headers: { authorization: `Bearer ${TEST_ADMIN_KEY}`, 'content-type': 'application/wasm' },
    payload: Buffer.from(await builtModule(module)),
  });
  return { siteKey: site.json().siteKey, moduleHash: upload.json().hash };
}

export interface TestCoordinator {
  app: FastifyInstance;
  store: Store;
  scheduler: Scheduler;
  jobEvents: JobEvents;
  volunteers: VolunteerSocket;
  dir: string;
  clientDir: string;
  /** `http://127.0.0.1:PORT` once `listen()` ran. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
  /** `inject` with the admin key. */
  api(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<LightMyRequestResponse>;
}

/** Starts a coordinator over a fresh SQLite file, with a fake client build in the temp dir. */
export async function startTestCoordinator(
  options: {
    limits?: Partial<Limits>;
    publicUrl?: string;
    heartbeat?: { intervalMs: number; timeoutMs: number };
    /** Every log line (requests included, at trace level) goes to this stream. */
    logStream?: { write(line: string): void };
    /** Called for every route the app registers (an `onRoute` hook added before `ready()`). */
    onRoute?: (route: RouteOptions) => void;
    /** Volunteers' quota bounds (default: the store's, new volunteers earn theirs from 2). */
    quota?: QuotaLimits;
  } = {},
): Promise<TestCoordinator> {
  const dir = await mkdtemp(join(tmpdir(), 'sc-coordinator-'));
  const clientDir = join(dir, 'client');
  await mkdir(join(clientDir, 'assets'), { recursive: true });
  await writeFile(join(clientDir, 'embed.js'), 'console.log("embed");\n');
  await writeFile(
    join(clientDir, 'frame.html'),
    '<!doctype html><html><head><title>frame</title><script type="module" src="/assets/frame-abc123.js"></script></head><body></body></html>\n',
  );
  await writeFile(join(clientDir, 'assets', 'frame-abc123.js'), 'export {};\n');

  const limits = { ...TEST_LIMITS, ...options.limits };
  const store = await openSqliteStore({ file: join(dir, 'sparecycles.db'), ...(options.quota ? { quota: options.quota } : {}) });
  let volunteers: VolunteerSocket | undefined;
  const jobEvents = createJobEvents();
  const scheduler = createScheduler({
    store,
    now: Date.now,
    newId,
    limits,
    moduleUrl,
    revoke: (sessionId: string, leaseIds: string[]) => volunteers?.revoke(sessionId, leaseIds),
    wake: (sessionIds: string[]) => volunteers?.wake(sessionIds),
    onSettled: (jobId: string) => jobEvents.notify(jobId),
  });
  let publicUrl = options.publicUrl ?? 'http://127.0.0.1:1';
  const app = buildApp({
    store,
    scheduler,
    jobEvents,
    now: Date.now,
    newId,
    newSiteKey,
    newApiKey: () => ({ id: newKeyId(), secret: newKeySecret() }),
    volunteersOnline: () => scheduler.sessionsOnline(),
    ...(options.logStream ? { logger: { level: 'trace', stream: options.logStream }, logRequests: true } : {}),
    config: { adminKey: TEST_ADMIN_KEY, get publicUrl() { return publicUrl; }, operatorName: 'Test Grid', limits, clientDir },
  });
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  volunteers = attachVolunteerSocket({
    server: app.server,
    scheduler,
    store,
    get publicUrl() {
      return publicUrl;
    },
    limits,
    ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
    ...(options.logStream ? { logger: app.log } : {}),
  });
  scheduler.start();
  await app.ready();

  const coordinator: TestCoordinator = {
    app,
    store,
    scheduler,
    jobEvents,
    volunteers,
    dir,
    clientDir,
    url: '',
    async listen() {
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      if (!address || typeof address === 'string') throw new Error('no address');
      coordinator.url = `http://127.0.0.1:${address.port}`;
      if (!options.publicUrl) publicUrl = coordinator.url;
      return coordinator.url;
    },
    async close() {
      await volunteers?.close();
      await scheduler.stop();
      await app.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
    api(method, path, body) {
      return app.inject({
        method,
        url: `/api/v1${path}`,
        headers: { authorization: `Bearer ${TEST_ADMIN_KEY}` },
        ...(body === undefined ? {} : { payload: body as object }),
      });
    },
  };
  return coordinator;
}

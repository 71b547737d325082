/**
 * The host page's own work on the grid: the fallback of its `run()` API when the visitor's own
 * pool cannot take it (declined, undecided, busy). The frame (on the coordinator's origin) calls
 * these routes without an operator key, so every request is held to the site owner's settings:
 *
 *   POST /api/v1/sites/:key/run?module=HASH   raw input (application/octet-stream) → 202 { id }
 *   GET  /api/v1/sites/:key/run/:id?waitMs=N  long-poll: 200 output bytes | 202 pending |
 *                                             200 { state: failed | cancelled, error: { code } }
 *   GET  /api/v1/sites/:key/runs?ids=a,b&waitMs=N  one long-poll for many runs: { settled: [ids] }
 *                                             (a browser has six connections per host: the frame
 *                                             waits for all its runs in one, then fetches each)
 *
 * Defences, in order: a browser request must come from the coordinator's own origin (its frame):
 * another page's script cannot forge `Origin` or `Sec-Fetch-Site`; the input is capped by
 * `maxRunInputBytes` (413); the site must exist and list the module in `runModules` (403
 * `module_not_allowed`); the caller's address gets `runPerMinute` a minute and the whole site
 * `runSitePerMinute` (429 with Retry-After). The rate is kept per client address, not per
 * volunteer id: the id is whatever the caller sends, so a flooding script would send a new one
 * each time, while an address costs something to change (visitors behind one shared address
 * share its allowance; their own pools are not limited by it).
 *
 * Each run is a one-task job of the site at `RUN_PRIORITY` (above batch jobs), cancelled when no
 * volunteer finished it within `RUN_TTL_MS`, so a page cannot pile up work that never ends.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CodedError } from '../../protocol/errors.ts';
import {
  MAX_RUN_WAIT_MS,
  RUN_PRIORITY,
  RunIdParams,
  RunQuery,
  RunSiteParams,
  RunStatus,
  RunWaitQuery,
  RunWatchQuery,
  RunWatchReply,
} from '../../protocol/http.ts';
import { createRateLimiter } from '../../sites/index.ts';
import type { TaskResult } from '../../store/index.ts';
import type { AppDeps } from '../deps.ts';
import { rawBody } from '../openapi.ts';

/** A run job not finished by then is cancelled (its caller hears `no_volunteer`). */
export const RUN_TTL_MS = 120_000;
/** How long a result request is held open when it names no `waitMs`. */
export const DEFAULT_WAIT_MS = 20_000;
/** How often a held request looks at its run. */
export const WAIT_STEP_MS = 250;
/** Held result requests per client address; more are answered at once (no hold). */
export const MAX_WAITS_PER_ADDRESS = 32;

/** How these routes are described: called by the frame, with no key. */
const docs = { tags: ['run'], security: [] };

type RunRequest = { Params: { key: string }; Querystring: RunQuery; Body: Uint8Array | undefined };
type ResultRequest = { Params: { key: string; id: string }; Querystring: RunWaitQuery };
type WatchRequest = { Params: { key: string }; Querystring: RunWatchQuery };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Browsers say where a request comes from; only the coordinator's own frame may call these routes.
 * A request with neither header comes from outside a browser and meets the rate limits alone.
 */
export function fromOwnFrame(headers: FastifyRequest['headers'], publicUrl: string): boolean {
  const origin = headers['origin'];
  if (typeof origin === 'string' && origin.toLowerCase() !== new URL(publicUrl).origin) return false;
  const site = headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin';
}

export function runRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store, scheduler, now, newId, config } = deps;
  const limiter = createRateLimiter();
  const expiries = new Map<string, ReturnType<typeof setTimeout>>();
  const waits = new Map<string, number>();

  api.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  api.addHook('onRequest', async (request) => {
    if (!fromOwnFrame(request.headers, config.publicUrl)) {
      throw new CodedError('forbidden', "run() requests come only from the coordinator's own frame");
    }
  });
  api.addHook('onClose', async () => {
    for (const timer of expiries.values()) clearTimeout(timer);
    expiries.clear();
  });

  api.post<RunRequest>(
    '/sites/:key/run',
    {
      schema: {
        ...docs,
        summary: "A host page's run() on the grid",
        description: "Called by the coordinator's own frame (no key); held to the site's `runModules` and rate limits.",
        params: RunSiteParams,
        querystring: RunQuery,
        ...rawBody({ 'application/octet-stream': { description: 'the task input' } }),
        response: { 202: RunStatus },
      },
      bodyLimit: config.limits.maxRunInputBytes,
    },
    async (request, reply) => {
      const { key } = request.params;
      const body = request.body;
      if (body !== undefined && !(body instanceof Uint8Array)) {
        throw new CodedError('unsupported_media_type', 'send the input bytes as the body with Content-Type: application/octet-stream');
      }
      const site = await store.getSite(key);
      if (!site) throw new CodedError('site_not_found', `no site ${key}`);
      const module = request.query.module;
      if (!site.settings.runModules.includes(module)) {
        throw new CodedError('module_not_allowed', `module ${module} is not one this site's owner allowed for run() (settings.runModules)`);
      }
      const at = now();
      const visitor = limiter.take(`address:${key}:${request.ip}`, site.settings.runPerMinute, at);
      const whole = visitor.allowed ? limiter.take(`site:${key}`, config.limits.runSitePerMinute, at) : visitor;
      if (!whole.allowed) {
        reply.header('retry-after', String(Math.ceil(whole.retryAfterMs / 1000)));
        const who = visitor.allowed ? 'this site' : 'this visitor';
        throw new CodedError('rate_limited', `too many run() calls from ${who}; try again in ${whole.retryAfterMs} ms`);
      }
      const id = newId();
      await store.createJob({
        id,
        moduleHash: module,
        title: `run() for ${site.name}`.slice(0, 200),
        redundancy: 1,
        quorum: 1,
        deadlineMs: config.limits.defaultDeadlineMs,
        maxAttempts: config.limits.defaultMaxAttempts,
        priority: RUN_PRIORITY,
        createdAt: at,
        inputs: [body ?? new Uint8Array()],
        siteKey: key,
        // The site's own work: its owner's, counted and seen as theirs.
        owner: site.owner,
      });
      scheduler.workAdded(id);
      const timer = setTimeout(() => {
        expiries.delete(id);
        void scheduler.cancel(id).catch((error: unknown) => request.log.warn({ err: error }, 'run expiry failed'));
      }, RUN_TTL_MS);
      timer.unref?.();
      expiries.set(id, timer);
      const status: RunStatus = { id, state: 'pending' };
      return reply.code(202).header('location', `${request.url.split('?')[0]}/${id}`).send(status);
    },
  );

  /** Holds a request open (up to `waitMs`, less when the address already holds many) while `poll` says to. */
  async function hold(request: FastifyRequest, waitMs: number, poll: () => Promise<boolean>): Promise<void> {
    const address = request.ip;
    const held = waits.get(address) ?? 0;
    const until = now() + (held >= MAX_WAITS_PER_ADDRESS ? 0 : waitMs);
    let gone = false;
    request.raw.once('close', () => (gone = true));
    waits.set(address, held + 1);
    try {
      while ((await poll()) && !gone && now() < until) await sleep(Math.min(WAIT_STEP_MS, Math.max(0, until - now())));
    } finally {
      const left = (waits.get(address) ?? 1) - 1;
      if (left > 0) waits.set(address, left);
      else waits.delete(address);
    }
  }

  const waitParam = (given: string | undefined): number => {
    const asked = given === undefined ? DEFAULT_WAIT_MS : Number(given);
    if (asked > MAX_RUN_WAIT_MS) throw new CodedError('bad_request', `querystring: waitMs is at most ${MAX_RUN_WAIT_MS}`);
    return asked;
  };

  const watchSchema = {
    ...docs,
    summary: 'Wait for any of many runs to settle',
    params: RunSiteParams,
    querystring: RunWatchQuery,
    response: { 200: RunWatchReply },
  };
  api.get<WatchRequest>('/sites/:key/runs', { schema: watchSchema }, async (request) => {
    const waitMs = waitParam(request.query.waitMs);
    const ids = [...new Set(request.query.ids.split(','))];
    let settled: string[] = [];
    await hold(request, waitMs, async () => {
      const tasks = await Promise.all(ids.map(async (id) => ((await store.getJob(id))?.site === request.params.key ? store.listResults(id, 0, 1) : [])));
      // Unknown runs (or another site's) count as settled: fetching one says why it is not there.
      settled = ids.filter((_, index) => {
        const task = tasks[index]?.[0];
        return !task || task.state === 'completed' || task.state === 'failed' || task.state === 'cancelled';
      });
      return settled.length === 0;
    });
    const reply: RunWatchReply = { settled };
    return reply;
  });

  api.get<ResultRequest>(
    '/sites/:key/run/:id',
    {
      schema: {
        ...docs,
        summary: "A run's output, waiting for it up to `waitMs`",
        params: RunIdParams,
        querystring: RunWaitQuery,
        response: {
          200: {
            description: 'The output bytes, or why there is none',
            content: {
              'application/octet-stream': { schema: Type.String({ format: 'binary', description: 'the output' }) },
              'application/json': { schema: RunStatus },
            },
          },
          202: { ...RunStatus, description: 'Not settled yet: ask again' },
        },
      },
    },
    async (request, reply) => {
      const { key, id } = request.params;
      const waitMs = waitParam(request.query.waitMs);
      const job = await store.getJob(id);
      if (!job || job.site !== key) throw new CodedError('job_not_found', `no run ${id} for site ${key}`);
      let task: TaskResult | undefined;
      await hold(request, waitMs, async () => {
        [task] = await store.listResults(id, 0, 1);
        return task?.state === 'pending' || task?.state === 'running';
      });
      reply.header('cache-control', 'no-store');
      if (task?.state === 'completed' && task.output) {
        clearTimeout(expiries.get(id));
        expiries.delete(id);
        return reply.type('application/octet-stream').send(Buffer.from(task.output));
      }
      if (task?.state === 'pending' || task?.state === 'running') {
        const pending: RunStatus = { id, state: 'pending' };
        return reply.code(202).send(pending);
      }
      const last = task?.errors?.at(-1);
      const status: RunStatus =
        task?.state === 'failed'
          ? { id, state: 'failed', error: { code: last?.kind ?? 'trap', message: last?.message ?? 'the task failed' } }
          : { id, state: 'cancelled', error: { code: 'no_volunteer', message: 'no volunteer ran it in time' } };
      return reply.send(status);
    },
  );
}

/**
 * Jobs:
 *   POST /jobs                 JSON (base64 inputs), or a streamed body: NDJSON or length-prefixed
 *                              frames (options first, then one input per line or frame) → 201
 *   POST /jobs/:id/inputs      more inputs for an open job, streamed the same way → { added, total }
 *   POST /jobs/:id/close       no more inputs: the job completes once its tasks are settled
 *   GET  /jobs?state=&limit=   jobs, newest first
 *   GET  /jobs/:id             status and counts
 *   GET  /jobs/:id/results     NDJSON: ?order=input|completion, ?follow=1, ?text=1
 *   POST /jobs/:id/cancel
 *
 * A streamed body is read as it arrives, a batch of inputs per transaction, so memory stays
 * bounded whatever its length; each request is atomic: its inputs become tasks only when all of
 * them were read and stored, and a refusal ("line N: …") leaves none behind. A refusal made before
 * the body ended closes the connection instead of reading the rest.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { canSee, ownerFilter, type Principal } from '../../accounts/principal.ts';
import { CodedError } from '../../protocol/errors.ts';
import {
  CreateJobBody,
  IdParams,
  INPUT_FRAMES_TYPE,
  JobOptions,
  ListJobsQuery,
  NDJSON_TYPE,
  ResultsQuery,
  AppendReply,
  JobList,
  JobStatus,
} from '../../protocol/http.ts';
import { idleLimited, resultLines, stageItems, streamForm, streamItems, type StreamForm, type StreamItem } from '../../jobs/index.ts';
import type { JobBrief, NewJobOptions } from '../../store/index.ts';
import { decodeBase64Strict } from '../../protocol/base64.ts';
import type { AppDeps } from '../deps.ts';
import { rawBody } from '../openapi.ts';
import { admitJob, jobOwnedBy } from '../ownership.ts';
import { compileChecker } from '../validation.ts';
import { assertWellFormed } from '../../protocol/well-formed.ts';

export const DEFAULT_PRIORITY = 100;
/** Jobs listed when the request names no `limit`, and the most it may name. */
export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

type IdRequest = { Params: { id: string } };
const checkOptions = compileChecker(JobOptions, 'options');
const JSON_TYPE = 'application/json';

/** The streamed forms of a job's inputs, for the API document (docs/api.md has the details). */
const STREAMED_BODIES = {
  [NDJSON_TYPE]: { description: 'line 1: the job\'s options (as the JSON form, without inputs; `open` to keep it open); then one input per line, {"base64": "…"} or {"text": "…"}' },
  [INPUT_FRAMES_TYPE]: { description: 'u32 big-endian N, N bytes of UTF-8 JSON options; then frames of u32 big-endian length L and L bytes of input' },
};

const isOn = (value: string | undefined): boolean => value === '1' || value === 'true';

/** The job's settings from its options, with the defaults filled in; `owner` makes it theirs. */
function jobSettings(id: string, options: JobOptions, limits: AppDeps['config']['limits'], createdAt: number, owner: Principal): NewJobOptions {
  const redundancy = options.redundancy ?? 1;
  const quorum = options.quorum ?? 1;
  if (quorum > redundancy) throw new CodedError('bad_request', `quorum (${quorum}) cannot exceed redundancy (${redundancy})`);
  return {
    id,
    moduleHash: options.module,
    title: options.title,
    purpose: options.purpose,
    redundancy,
    quorum,
    adaptiveReplication: options.adaptiveReplication ?? true,
    deadlineMs: options.deadlineMs ?? limits.defaultDeadlineMs,
    maxAttempts: options.maxAttempts ?? limits.defaultMaxAttempts,
    priority: options.priority ?? DEFAULT_PRIORITY,
    createdAt,
    open: options.open ?? false,
    owner: owner.owner,
  };
}

/** The options item of a streamed body, checked. */
function optionsOf(item: StreamItem): JobOptions {
  if (item.kind !== 'options') throw new CodedError('bad_request', `${item.where}: expected the job's options`);
  const checked = checkOptions(item.value);
  if (!checked.ok) throw new CodedError('bad_request', `${item.where}: ${checked.message}`);
  assertWellFormed(item.value, `${item.where}: options`);
  return checked.value;
}

function decodeInputs(inputs: readonly string[], maxInputBytes: number): Uint8Array[] {
  return inputs.map((text, index) => {
    const bytes = decodeBase64Strict(text);
    if (!bytes) throw new CodedError('bad_request', `inputs/${index} is not valid base64 (RFC 4648, padded)`);
    if (bytes.byteLength > maxInputBytes) {
      throw new CodedError('payload_too_large', `inputs/${index}: an input of ${bytes.byteLength} bytes is over the limit of ${maxInputBytes} bytes (SPARECYCLES_MAX_INPUT_BYTES)`);
    }
    return bytes;
  });
}

/** The essence of the request's content type (`application/json`), or undefined. */
const contentTypeOf = (request: FastifyRequest): string | undefined => request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();

/**
 * The raw body as chunks. Leaving the loop early must not destroy the request (that would reset
 * the connection before the refusal is sent), and a body that stops moving is refused.
 */
function bodyChunks(request: FastifyRequest, idleMs: number): AsyncIterable<Uint8Array> {
  const body = request.body as Readable;
  return idleLimited(body.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>, idleMs);
}

/** How long a refused body is still read (and dropped) after the refusal, before the connection closes. */
export const LINGER_MS = 2000;

/**
 * Runs `work` over a body still arriving. After a refusal made before the body ended, the rest is
 * read and dropped for `LINGER_MS` (closing at once would reset the connection under a client
 * still sending, which may then lose the refusal), and the connection is closed after that.
 */
async function whileReceiving<T>(reply: FastifyReply, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const raw = reply.request.raw;
    if (!raw.complete) {
      reply.raw.once('finish', () => {
        const timer = setTimeout(() => raw.socket?.destroy(), LINGER_MS);
        raw.once('end', () => clearTimeout(timer));
        raw.socket?.once('close', () => clearTimeout(timer));
        raw.resume();
      });
    }
    throw error;
  }
}

export function jobRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store, scheduler, jobEvents, now, newId, config } = deps;
  const { limits } = config;
  /** Jobs a request is adding inputs to right now: one such request per job at a time. */
  const receiving = new Set<string>();
  const byId = { schema: { params: IdParams } };
  // Followers would otherwise hold a shutting-down coordinator open until its forced exit.
  const closing = new AbortController();
  api.addHook('preClose', async () => closing.abort());

  // A streamed body reaches its handler as the raw stream: nothing is buffered and no body limit
  // applies (its inputs are bounded one by one, and in number by the tasks-per-job limit).
  api.addContentTypeParser([NDJSON_TYPE, INPUT_FRAMES_TYPE], (_request, payload, done) => done(null, payload));

  /** The job if the caller may see it (else 404): the one place a job is looked up for a request. */
  async function visibleJob(request: FastifyRequest, id: string): Promise<JobBrief> {
    const job = await store.getJobState(id);
    // Another owner's job answers exactly as a missing one.
    if (!job || !canSee(request.principal, job.owner)) throw new CodedError('job_not_found', `no job ${id}`);
    return job;
  }


  /**
   * Runs `work` as the only request changing the job's inputs: checked and marked with nothing
   * awaited in between, so two requests can never both pass.
   */
  async function exclusively<T>(id: string, busy: string, work: () => Promise<T>): Promise<T> {
    if (receiving.has(id)) throw new CodedError('conflict', busy);
    receiving.add(id);
    try {
      return await work();
    } finally {
      receiving.delete(id);
    }
  }

  /** Stages the streamed inputs of a request from `fromIndex`, commits them, or discards them on any failure. */
  async function receive(id: string, fromIndex: number, items: AsyncIterable<StreamItem>): Promise<number> {
    try {
      const total = await stageItems(store, id, fromIndex, items, limits, now);
      await store.commitInputs(id, total, now());
      return total;
    } catch (error) {
      await store.discardInputs(id);
      throw error;
    }
  }

  async function createStreamed(request: FastifyRequest, reply: FastifyReply, form: StreamForm): Promise<FastifyReply> {
    const status = await whileReceiving(reply, async () => {
      const items = streamItems(form, bodyChunks(request, limits.streamIdleMs), limits, true);
      const first = await items.next();
      if (first.done) throw new CodedError('bad_request', "the body ended before the job's options");
      const options = optionsOf(first.value);
      // A module the caller did not upload is 404 module_not_found, before any input is read.
      await admitJob(store, request.principal, options.module, limits.maxActiveJobs);
      const id = newId();
      await store.createStagedJob(jobSettings(id, options, limits, now(), request.principal));
      const total = await exclusively(id, `job ${id} is receiving inputs`, () => receive(id, 0, items));
      if (total > 0) scheduler.workAdded(id);
      return jobOwnedBy(store, id, request.principal);
    });
    return reply.code(201).header('location', `${request.url}/${status.id}`).send(status);
  }

  api.post<{ Body: CreateJobBody | Readable }>(
    '/jobs',
    {
      // Only the JSON form has a body to validate; the streamed forms are checked line by line.
      schema: {
        summary: 'Create a job: JSON with base64 inputs, or a streamed NDJSON or framed body',
        ...rawBody(STREAMED_BODIES, CreateJobBody),
        response: { 201: JobStatus },
      },
      bodyLimit: limits.maxJobBodyBytes,
    },
    async (request, reply) => {
      const type = contentTypeOf(request);
      const form = streamForm(type);
      if (form) return createStreamed(request, reply, form);
      if (type !== JSON_TYPE) {
        throw new CodedError('unsupported_media_type', `expected Content-Type: ${JSON_TYPE}, ${NDJSON_TYPE} or ${INPUT_FRAMES_TYPE}, got ${type ?? 'none'}`);
      }
      const body = request.body as CreateJobBody;
      if (body.inputs.length > limits.maxTasksPerJob) {
        throw new CodedError('payload_too_large', `a job has at most ${limits.maxTasksPerJob} tasks (SPARECYCLES_MAX_TASKS_PER_JOB); got ${body.inputs.length}`);
      }
      const { inputs, ...options } = body;
      await admitJob(store, request.principal, options.module, limits.maxActiveJobs);
      const settings = jobSettings(newId(), options, limits, now(), request.principal);
      await store.createJob({ ...settings, inputs: decodeInputs(inputs, limits.maxInputBytes) });
      scheduler.workAdded(settings.id);
      const status = await jobOwnedBy(store, settings.id, request.principal);
      return reply.code(201).header('location', `${request.url}/${settings.id}`).send(status);
    },
  );

  api.post<IdRequest>('/jobs/:id/inputs', { schema: { summary: 'More inputs for an open job', params: IdParams, ...rawBody(STREAMED_BODIES), response: { 200: AppendReply } } }, async (request, reply) => {
    const { id } = request.params;
    const result = await whileReceiving(reply, async (): Promise<AppendReply> => {
      const form = streamForm(contentTypeOf(request));
      if (!form) throw new CodedError('unsupported_media_type', `expected Content-Type: ${NDJSON_TYPE} or ${INPUT_FRAMES_TYPE}`);
      await visibleJob(request, id);
      const busy = `job ${id} is receiving inputs from another request (or closing); send them one request at a time`;
      const { from, total } = await exclusively(id, busy, async () => {
        const from = await store.beginInputs(id);
        return { from, total: await receive(id, from, streamItems(form, bodyChunks(request, limits.streamIdleMs), limits, false)) };
      });
      if (total > from) scheduler.workAdded(id);
      return { added: total - from, total };
    });
    return reply.send(result);
  });

  api.post<IdRequest>('/jobs/:id/close', byId, async (request) => {
    const { id } = request.params;
    await visibleJob(request, id);
    const closed = await exclusively(id, `job ${id} is still receiving inputs; close it once that request is answered`, () => store.closeJob(id, now()));
    if (!closed) throw new CodedError('job_not_found', `no job ${id}`);
    // Closing may have ended the job: its followers finish.
    jobEvents.notify(id);
    return jobOwnedBy(store, id, request.principal);
  });

  api.get<{ Querystring: ListJobsQuery }>('/jobs', { schema: { querystring: ListJobsQuery } }, async (request): Promise<JobList> => {
    const limit = request.query.limit === undefined ? DEFAULT_LIST_LIMIT : Number(request.query.limit);
    if (limit < 1 || limit > MAX_LIST_LIMIT) throw new CodedError('bad_request', `querystring: limit must be 1-${MAX_LIST_LIMIT}, got ${limit}`);
    return { jobs: await store.listJobs({ state: request.query.state, owner: ownerFilter(request.principal), limit }) };
  });

  api.get<IdRequest>('/jobs/:id', byId, async (request) => jobOwnedBy(store, request.params.id, request.principal));

  api.get<IdRequest & { Querystring: ResultsQuery }>(
    '/jobs/:id/results',
    { schema: { params: IdParams, querystring: ResultsQuery } },
    async (request, reply) => {
      const { id } = request.params;
      await visibleJob(request, id);
      const options = {
        order: request.query.order ?? 'input',
        follow: isOn(request.query.follow),
        text: isOn(request.query.text),
        // A follower that has nothing to send yet still gets its status line and headers.
        onWait: () => {
          if (!reply.raw.headersSent) reply.raw.flushHeaders();
        },
      } as const;
      // The response closes when it is done or the client leaves: a follower stops waiting then.
      const left = new AbortController();
      reply.raw.once('close', () => left.abort());
      const stream = Readable.from(resultLines(store, jobEvents, id, options, AbortSignal.any([left.signal, closing.signal])));
      stream.on('error', (error) => request.log.error({ err: error }, 'results stream failed'));
      return reply.type('application/x-ndjson; charset=utf-8').header('cache-control', 'no-store').send(stream);
    },
  );

  api.post<IdRequest>('/jobs/:id/cancel', byId, async (request) => {
    await visibleJob(request, request.params.id);
    // `cancel` answers false exactly when there is no such job.
    if (!(await scheduler.cancel(request.params.id))) throw new CodedError('job_not_found', `no job ${request.params.id}`);
    return jobOwnedBy(store, request.params.id, request.principal);
  });
}

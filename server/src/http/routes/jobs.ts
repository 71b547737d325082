/**
 * Jobs: `POST /jobs` (base64 inputs), `GET /jobs/:id`, `GET /jobs/:id/results` (NDJSON in input
 * order, streamed page by page from the store) and `POST /jobs/:id/cancel`.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { CodedError } from '../../protocol/errors.ts';
import { CreateJobBody, IdParams, type JobStatus, type ResultLine } from '../../protocol/http.ts';
import type { Store, TaskResult } from '../../store/index.ts';
import { decodeBase64Strict, encodeBase64 } from '../base64.ts';
import type { AppDeps } from '../deps.ts';
import { admitJob, jobOwnedBy } from '../ownership.ts';
import { requireJson } from './content-type.ts';

/** Tasks read from the store per page while streaming results. */
export const RESULTS_PAGE = 256;
export const DEFAULT_PRIORITY = 100;

type IdRequest = { Params: { id: string } };

/** One NDJSON line of the results endpoint. */
export function resultLine(task: TaskResult): ResultLine {
  const line: ResultLine = { index: task.index, state: task.state };
  if (task.output !== undefined) line.output = encodeBase64(task.output);
  if (task.errors !== undefined && task.errors.length > 0) line.errors = task.errors;
  return line;
}

/** Every task of a job as NDJSON lines, reading `pageSize` tasks at a time. */
export async function* resultLines(store: Store, jobId: string, pageSize = RESULTS_PAGE): AsyncGenerator<string> {
  let from = 0;
  for (;;) {
    const page = await store.listResults(jobId, from, pageSize);
    for (const task of page) yield `${JSON.stringify(resultLine(task))}\n`;
    const last = page.at(-1);
    if (page.length < pageSize || !last) return;
    from = last.index + 1;
  }
}

function decodeInputs(inputs: readonly string[]): Uint8Array[] {
  return inputs.map((text, index) => {
    const bytes = decodeBase64Strict(text);
    if (!bytes) throw new CodedError('bad_request', `inputs/${index} is not valid base64 (RFC 4648, padded)`);
    return bytes;
  });
}

async function jobOr404(store: Store, id: string): Promise<JobStatus> {
  const job = await store.getJob(id);
  if (!job) throw new CodedError('job_not_found', `no job ${id}`);
  return job;
}

export function jobRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store, scheduler, now, newId, config } = deps;
  const byId = { schema: { params: IdParams } };

  api.post<{ Body: CreateJobBody }>(
    '/jobs',
    { schema: { body: CreateJobBody }, bodyLimit: config.limits.maxJobBodyBytes, preValidation: requireJson },
    async (request, reply) => {
      const body = request.body;
      const redundancy = body.redundancy ?? 1;
      const quorum = body.quorum ?? 1;
      if (quorum > redundancy) {
        throw new CodedError('bad_request', `quorum (${quorum}) cannot exceed redundancy (${redundancy})`);
      }
      const inputs = decodeInputs(body.inputs);
      await admitJob(store, request.principal, body.module, config.limits.maxActiveJobs);
      // The store refuses an unknown module inside the job's own transaction (404 module_not_found).
      const id = newId();
      await store.createJob({
        id,
        moduleHash: body.module,
        title: body.title,
        purpose: body.purpose,
        redundancy,
        quorum,
        adaptiveReplication: body.adaptiveReplication ?? true,
        deadlineMs: body.deadlineMs ?? config.limits.defaultDeadlineMs,
        maxAttempts: body.maxAttempts ?? config.limits.defaultMaxAttempts,
        priority: body.priority ?? DEFAULT_PRIORITY,
        createdAt: now(),
        inputs,
        owner: request.principal.owner,
      });
      scheduler.workAdded(id);
      const status = await jobOr404(store, id);
      return reply.code(201).header('location', `${request.url}/${id}`).send(status);
    },
  );

  api.get<IdRequest>('/jobs/:id', byId, async (request) => jobOwnedBy(store, request.params.id, request.principal));

  api.get<IdRequest>('/jobs/:id/results', byId, async (request, reply) => {
    await jobOwnedBy(store, request.params.id, request.principal);
    const stream = Readable.from(resultLines(store, request.params.id));
    stream.on('error', (error) => request.log.error({ err: error }, 'results stream failed'));
    return reply.type('application/x-ndjson; charset=utf-8').header('cache-control', 'no-store').send(stream);
  });

  api.post<IdRequest>('/jobs/:id/cancel', byId, async (request) => {
    await jobOwnedBy(store, request.params.id, request.principal);
    // `cancel` answers false exactly when there is no such job.
    if (!(await scheduler.cancel(request.params.id))) throw new CodedError('job_not_found', `no job ${request.params.id}`);
    return jobOr404(store, request.params.id);
  });
}

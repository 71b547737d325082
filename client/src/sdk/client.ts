/**
 * The typed client of a coordinator's REST API: modules, jobs that stream their inputs in batches
 * (an open job, `/inputs` per batch, then `/close`, so no streamed request body is needed and it
 * works in every browser), keys, sites and the grid. `fetch` only: Node 20 and browsers.
 */
import { SpareCyclesError } from './errors.ts';
import { requestJson, type Transport } from './http.ts';
import { Job } from './job.ts';
import { batchLines, DEFAULT_BATCH, inputLines, type BatchLimits, type JobInputs } from './ndjson.ts';
import type { CreatedKey, GridInfo, JobOptions, JobStatus, KeyRole, ModuleInfo, SiteInfo } from './types.ts';

export interface ClientOptions {
  /** The coordinator, e.g. `https://grid.example.com`. */
  url: string;
  /** An author's, site owner's or the operator's key. */
  key: string;
  /** Another `fetch` (default: the global one). */
  fetch?: typeof fetch;
}

export interface CreateJobOptions extends JobOptions {
  /** A module's hash, or its bytes (uploaded first). */
  module: string | Uint8Array;
  inputs: JobInputs;
  /** Size of each request of inputs (default 5,000 inputs or 4 MiB). */
  batch?: Partial<BatchLimits>;
  /** Called after each batch is stored: the job exists from the first one on. */
  onBatch?(progress: { job: Job; added: number; total: number }): void;
}

const NDJSON = 'application/x-ndjson';

export class Client {
  readonly url: string;
  readonly #transport: Transport;

  constructor(options: ClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new SpareCyclesError('bad_request', 0, `not a URL: ${options.url}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new SpareCyclesError('bad_request', 0, `the coordinator's URL must be http(s): ${options.url}`);
    }
    this.url = url.origin;
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#transport = { url: this.url, key: options.key, fetch: fetchFn };
  }

  /** Uploads a module (content-addressed: the same bytes give the same hash). */
  pushModule(bytes: Uint8Array): Promise<ModuleInfo> {
    return requestJson<ModuleInfo>(this.#transport, '/modules', { body: bytes, contentType: 'application/wasm' });
  }

  /**
   * Creates a job and streams its inputs in batches; resolves once every input is stored and the
   * job is closed. If reading the inputs (or sending them) fails, the job is cancelled and the
   * error is thrown.
   */
  async createJob(options: CreateJobOptions): Promise<Job> {
    const { module, inputs, batch, onBatch, ...settings } = options;
    const hash = typeof module === 'string' ? module : (await this.pushModule(module)).hash;
    let job: Job | undefined;
    try {
      for await (const { body, count } of batchLines(inputLines(inputs), { ...DEFAULT_BATCH, ...batch })) {
        let total: number;
        if (!job) {
          const head = JSON.stringify({ module: hash, ...settings, open: true });
          const status = await requestJson<JobStatus>(this.#transport, '/jobs', { body: `${head}\n${body}`, contentType: NDJSON });
          job = new Job(this.#transport, status.id);
          total = status.counts.total;
        } else {
          ({ total } = await requestJson<{ added: number; total: number }>(this.#transport, `/jobs/${encodeURIComponent(job.id)}/inputs`, {
            body,
            contentType: NDJSON,
          }));
        }
        onBatch?.({ job, added: count, total });
      }
      if (!job) throw new SpareCyclesError('bad_request', 0, 'a job needs at least one input');
      await requestJson<JobStatus>(this.#transport, `/jobs/${encodeURIComponent(job.id)}/close`, { method: 'POST' });
      return job;
    } catch (error) {
      // A half-sent job would stay open for ever: take it back (best effort; the error is the news).
      await job?.cancel().catch(() => undefined);
      throw error;
    }
  }

  /** A job by id (no request is made until one of its methods is called). */
  job(id: string): Job {
    return new Job(this.#transport, id);
  }

  /** The caller's jobs (the operator's: everyone's), newest first. */
  async listJobs(options: { state?: JobStatus['state']; limit?: number } = {}): Promise<JobStatus[]> {
    const { jobs } = await requestJson<{ jobs: JobStatus[] }>(this.#transport, '/jobs', { query: { state: options.state, limit: options.limit } });
    return jobs;
  }

  /** How many volunteers are connected now. */
  grid(): Promise<GridInfo> {
    return requestJson<GridInfo>(this.#transport, '/grid');
  }

  /** Creates a key for a task author or a site owner (operator only); its secret is shown only here. */
  createKey(options: { role: KeyRole; name: string }): Promise<CreatedKey> {
    return requestJson<CreatedKey>(this.#transport, '/keys', { json: options });
  }

  /** Registers a site: its key and the embed snippet to paste. */
  createSite(options: { name: string; origins: string[] }): Promise<SiteInfo> {
    return requestJson<SiteInfo>(this.#transport, '/sites', { json: options });
  }
}

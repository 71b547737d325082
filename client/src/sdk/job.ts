/** A job on the coordinator, by id: its status, progress and results, and cancelling it. */
import { fromBase64 } from './base64.ts';
import { SpareCyclesError } from './errors.ts';
import { bodyChunks, request, requestJson, type Transport } from './http.ts';
import { splitLines } from './ndjson.ts';
import type { JobResult, JobStatus, ProgressOptions, ResultsOptions } from './types.ts';

/** A job has ended when it can change no more: completed (closed, every task settled) or cancelled. */
export function jobEnded(status: Pick<JobStatus, 'state'>): boolean {
  return status.state !== 'active';
}

/** Parses one results line; a line that is not a result is the coordinator's fault (`bad_response`). */
export function parseResultLine(line: string): JobResult {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new SpareCyclesError('bad_response', 200, `a results line is not JSON: ${line.slice(0, 100)}`);
  }
  const { index, state, output, text, errors } = parsed;
  if (typeof index !== 'number' || typeof state !== 'string') {
    throw new SpareCyclesError('bad_response', 200, `a results line has no index or state: ${line.slice(0, 100)}`);
  }
  const result: JobResult = { index, state: state as JobResult['state'], line };
  if (typeof output === 'string') result.output = fromBase64(output);
  if (typeof text === 'string') result.text = text;
  if (Array.isArray(errors)) result.errors = errors as JobResult['errors'];
  return result;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class Job {
  readonly id: string;
  readonly #transport: Transport;

  constructor(transport: Transport, id: string) {
    this.#transport = transport;
    this.id = id;
  }

  #path(suffix = ''): string {
    return `/jobs/${encodeURIComponent(this.id)}${suffix}`;
  }

  /** The job's state and task counts now. */
  status(): Promise<JobStatus> {
    return requestJson<JobStatus>(this.#transport, this.#path());
  }

  /** The job's status every `intervalMs` until it ends (the last one yielded is the final one). */
  async *progress(options: ProgressOptions = {}): AsyncGenerator<JobStatus> {
    const intervalMs = options.intervalMs ?? 1_000;
    for (;;) {
      if (options.signal?.aborted) return;
      const status = await this.status();
      yield status;
      if (jobEnded(status)) return;
      await sleep(intervalMs, options.signal);
    }
  }

  /**
   * The results as NDJSON lines parsed while they stream in. With `follow`, the stream stays open
   * until the job ends and each result arrives as it is accepted.
   */
  async *results(options: ResultsOptions = {}): AsyncGenerator<JobResult> {
    const response = await request(this.#transport, this.#path('/results'), {
      query: { order: options.order, follow: options.follow, text: options.text },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    for await (const line of splitLines(bodyChunks(response))) yield parseResultLine(line);
  }

  /** Cancels every unsettled task; settled results stay. */
  cancel(): Promise<JobStatus> {
    return requestJson<JobStatus>(this.#transport, this.#path('/cancel'), { method: 'POST' });
  }
}

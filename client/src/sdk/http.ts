/**
 * One place where the SDK meets `fetch`: the bearer key, the API prefix, coded errors for every
 * refusal, `network` for an unreachable coordinator, and response bodies read as chunk streams.
 */
import { errorFromBody, SpareCyclesError } from './errors.ts';

/** Where the coordinator is and how to call it. */
export interface Transport {
  /** The coordinator's origin, e.g. `http://127.0.0.1:8080` (no trailing slash). */
  readonly url: string;
  readonly key: string;
  readonly fetch: typeof fetch;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body (sent as `application/json`), or raw bytes/text with `contentType`. */
  json?: unknown;
  body?: Uint8Array | string;
  contentType?: string;
  signal?: AbortSignal;
}

/** `/api/v1` + `path` + the defined query parameters. */
export function apiUrl(base: string, path: string, query: RequestOptions['query'] = {}): string {
  const url = new URL(`/api/v1${path}`, base);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== false) url.searchParams.set(name, value === true ? '1' : String(value));
  }
  return url.toString();
}

/** Sends one request; resolves with a 2xx response, else throws a `SpareCyclesError`. */
export async function request(transport: Transport, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${transport.key}` };
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/octet-stream';
    body = options.body as BodyInit;
  }
  const method = options.method ?? (body === undefined ? 'GET' : 'POST');
  const send = () =>
    transport.fetch(apiUrl(transport.url, path, options.query), {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  let response: Response;
  try {
    response = await send().catch((error: unknown) => {
      // A pooled keep-alive connection the server closed just as it was reused fails with a reset
      // before the request was read: a GET changes nothing, so it is sent once more.
      if (method === 'GET' && !options.signal?.aborted && causeCode(error) === 'ECONNRESET') return send();
      throw error;
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new SpareCyclesError('network', 0, `cannot reach the coordinator at ${transport.url}${cause}`);
  }
  if (!response.ok) throw errorFromBody(response.status, await response.text().catch(() => ''));
  return response;
}

/** The system error code behind a failed fetch (`ECONNRESET`, …), when it says one. */
function causeCode(error: unknown): string | undefined {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

/** The JSON of a 2xx answer. */
export async function requestJson<T>(transport: Transport, path: string, options: RequestOptions = {}): Promise<T> {
  const response = await request(transport, path, options);
  try {
    return (await response.json()) as T;
  } catch {
    throw new SpareCyclesError('bad_response', response.status, `${path}: the coordinator's answer is not JSON`);
  }
}

/** A response body as chunks (with a reader, since Safari's streams are not async iterable). */
export async function* bodyChunks(response: Response): AsyncGenerator<Uint8Array> {
  if (!response.body) return;
  const reader = response.body.getReader();
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        const reason = error instanceof Error ? `: ${error.message}` : '';
        throw new SpareCyclesError('network', 0, `the connection to the coordinator broke while reading ${new URL(response.url).pathname}${reason}`);
      }
      if (chunk.done) return;
      yield chunk.value;
    }
  } finally {
    // Stopping early (a consumer's `break`) must not leave the connection open.
    await reader.cancel().catch(() => {});
  }
}

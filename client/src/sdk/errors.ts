/**
 * The SDK's one error type: the API's coded `{ error: { code, message } }`, or `network` when the
 * coordinator could not be reached at all (status 0).
 */

/** A refusal from the coordinator, or a failure to reach it. */
export class SpareCyclesError extends Error {
  /** The API's error code (`unauthorized`, `job_not_found`, …), or `network`, or `bad_response`. */
  readonly code: string;
  /** The HTTP status; 0 when no response arrived. */
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(message);
    this.name = 'SpareCyclesError';
    this.code = code;
    this.status = status;
  }
}

/** Reads a coded error out of a response body; a body that is not one gives `bad_response`. */
export function errorFromBody(status: number, body: string): SpareCyclesError {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = parsed.error ?? {};
    if (typeof code === 'string' && typeof message === 'string') return new SpareCyclesError(code, status, message);
  } catch {
    // Not JSON: a proxy's page or an empty body; described below.
  }
  const excerpt = body.trim().slice(0, 200);
  return new SpareCyclesError('bad_response', status, `HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`);
}

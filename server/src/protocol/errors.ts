/**
 * The coordinator's catalogue of coded errors. Every error that crosses a boundary
 * (HTTP body, socket acknowledgement, postMessage) travels as plain `{ code, message }` data.
 */

/** Error codes, each with the HTTP status it maps to. */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_module: 400,
  unauthorized: 401,
  forbidden: 403,
  module_not_allowed: 403,
  not_found: 404,
  module_not_found: 404,
  job_not_found: 404,
  site_not_found: 404,
  volunteer_not_found: 404,
  key_not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  stale_lease: 409,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The wire shape of an error, in HTTP bodies and socket acknowledgements. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

/** An error that knows its code and HTTP status. */
export class CodedError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'CodedError';
    this.code = code;
    this.status = ERROR_STATUS[code];
  }
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/** Normalise anything thrown into a CodedError (unknown errors become `internal`). */
export function toError(thrown: unknown): CodedError {
  if (thrown instanceof CodedError) return thrown;
  if (thrown instanceof Error) return new CodedError('internal', thrown.message);
  return new CodedError('internal', String(thrown));
}

/** Build the wire body for an error without throwing it. */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

/**
 * Maps everything an HTTP request can throw — our CodedErrors, fastify's own errors (validation,
 * body too large, wrong content type, bad JSON) and surprises — to the one error body
 * `{ error: { code, message } }` with the matching status.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CodedError, ERROR_STATUS, type ErrorCode } from '../protocol/errors.ts';

const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
};

/** The coded error an HTTP client sees for `thrown`; the limits word the messages that name them. */
export function toHttpError(thrown: unknown, limits: { bodyLimit?: number | undefined; maxParamLength?: number } = {}): CodedError {
  if (thrown instanceof CodedError) return thrown;
  const error = thrown as Partial<FastifyError> | undefined;
  const { bodyLimit, maxParamLength } = limits;
  switch (error?.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new CodedError('bad_request', `a path parameter is longer than ${maxParamLength ?? 'the router allows'} characters`);
    case 'FST_ERR_BAD_URL':
      return new CodedError('bad_request', 'the URL is not valid');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CodedError(
        'payload_too_large',
        bodyLimit ? `request body is larger than this route's limit of ${bodyLimit} bytes` : 'request body is too large',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CodedError('unsupported_media_type', error.message ?? 'unsupported Content-Type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new CodedError('bad_request', 'empty body with Content-Type: application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new CodedError('bad_request', 'body is not valid JSON');
  }
  if (error && 'validation' in error && error.validation) {
    return new CodedError('bad_request', error.message ?? 'invalid request');
  }
  const status = typeof error?.statusCode === 'number' ? error.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code = BY_STATUS[status] ?? 'bad_request';
    return new CodedError(code, error?.message || code.replace(/_/g, ' '));
  }
  return new CodedError('internal', 'internal error');
}

/**
 * Answers `thrown` as the one error body, logging surprises. Used by the error handler and by
 * fastify's `frameworkErrors` (refusals of the router itself, before any route runs).
 */
export function sendHttpError(
  thrown: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  limits: { bodyLimit?: number | undefined; maxParamLength?: number } = {},
): FastifyReply {
  const error = toHttpError(thrown, limits);
  if (error.code === 'internal') request.log.error({ err: thrown }, 'request failed');
  else if (error.status === ERROR_STATUS.unauthorized) reply.header('www-authenticate', 'Bearer');
  return reply.code(error.status).type('application/json; charset=utf-8').send(error.toBody());
}

/** Installs the error and not-found handlers on `app`. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((thrown, request, reply) => sendHttpError(thrown, request, reply, { bodyLimit: request.routeOptions.bodyLimit }));
  app.setNotFoundHandler((request, reply) => {
    const error = new CodedError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
    return reply.code(404).type('application/json; charset=utf-8').send(error.toBody());
  });
}

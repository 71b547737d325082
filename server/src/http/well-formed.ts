/**
 * Text the coordinator keeps must be stored as given (see protocol/well-formed.ts): JSON bodies
 * that are not UTF-8, and lone surrogates in bodies, query strings and path parameters, are
 * refused with 400 naming where.
 */
import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { CodedError } from '../protocol/errors.ts';
import { assertWellFormed } from '../protocol/well-formed.ts';

/**
 * Installs, on `app` and everything registered in it: a JSON body parser that refuses bytes that
 * are not UTF-8 (fastify's own would replace them with U+FFFD) and then parses as fastify does
 * (prototype poisoning refused), and a hook that refuses lone surrogates in the parsed body, the
 * query string and the path parameters.
 */
export function installWellFormedInput(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    if (!isUtf8(body as Buffer)) {
      done(new CodedError('bad_request', 'body is not valid UTF-8'), undefined);
      return;
    }
    parseJson(request, body as unknown as string, done);
  });
  app.addHook('preValidation', async (request) => {
    assertWellFormed(request.params, 'params');
    assertWellFormed(request.query, 'querystring');
    assertWellFormed(request.body, 'body');
  });
}

/** Content-type guard for JSON routes: another body type is a 415 before validation. */
import type { preValidationAsyncHookHandler } from 'fastify';
import { CodedError } from '../../protocol/errors.ts';

export const requireJson: preValidationAsyncHookHandler = async (request) => {
  const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new CodedError('unsupported_media_type', `expected Content-Type: application/json, got ${type ?? 'none'}`);
  }
};

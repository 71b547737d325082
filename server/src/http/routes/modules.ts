/**
 * Task modules: `POST /modules` (raw `application/wasm` body, validated, content-addressed; 201, or
 * 200 when the caller already uploaded it) and `GET /modules/:hash` (metadata, for its uploaders
 * and the operator: anyone else's answers 404 like a missing one).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { CodedError } from '../../protocol/errors.ts';
import { ModuleHash } from '../../protocol/events.ts';
import { API_PREFIX, ModuleInfo, ModuleMeta } from '../../protocol/http.ts';
import { validateModule } from '../../modules/validate.ts';
import type { AppDeps } from '../deps.ts';
import { moduleOwnedBy } from '../ownership.ts';
import { rawBody } from '../openapi.ts';

/** Content types a module upload may use. */
export const MODULE_CONTENT_TYPES = ['application/wasm', 'application/octet-stream'];

const HashParams = Type.Object({ hash: ModuleHash }, { additionalProperties: false });

/** Where volunteers download a module's bytes (a path on the coordinator). */
export const moduleUrl = (hash: string): string => `/modules/${hash}.wasm`;

export function moduleRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store, now, config } = deps;

  api.addContentTypeParser(MODULE_CONTENT_TYPES, { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const uploadSchema = {
    summary: 'Upload a task module',
    description:
      'The module is checked (a bytes-ABI or WASI module, no forbidden imports) and stored under the SHA-256 of its bytes; ' +
      `at most ${config.limits.maxModuleBytes} bytes on this coordinator.`,
    ...rawBody(Object.fromEntries(MODULE_CONTENT_TYPES.map((type) => [type, { description: 'the WebAssembly module' }]))),
    response: {
      201: { ...ModuleInfo, description: 'Stored' },
      200: { ...ModuleInfo, description: 'Already stored' },
    },
  };
  api.post('/modules', { bodyLimit: config.limits.maxModuleBytes, schema: uploadSchema }, async (request, reply) => {
    const body = request.body;
    if (body !== undefined && !(body instanceof Uint8Array)) {
      throw new CodedError('unsupported_media_type', 'send the module bytes as the body with Content-Type: application/wasm');
    }
    const bytes = body ?? new Uint8Array();
    const info = await validateModule(bytes, config.limits);
    const { created } = await store.saveModule({ ...info, bytes, createdAt: now() }, request.principal.owner);
    return reply
      .code(created ? 201 : 200)
      .header('location', `${API_PREFIX}/modules/${info.hash}`)
      .send(info);
  });

  const metaSchema = { summary: "A module's info", params: HashParams, response: { 200: ModuleMeta } };
  api.get<{ Params: { hash: string } }>('/modules/:hash', { schema: metaSchema }, async (request) => {
    const meta = await moduleOwnedBy(store, request.params.hash, request.principal);
    const reply: ModuleMeta = { hash: meta.hash, abi: meta.abi, size: meta.size, createdAt: meta.createdAt, url: moduleUrl(meta.hash) };
    return reply;
  });
}

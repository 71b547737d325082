/**
 * `GET /modules/:hash.wasm`: a module's bytes for volunteers' workers. Content-addressed, so cached
 * for good; CORS and CORP open so any runtime (frame, Node agent, a host page's own worker) may fetch it.
 */
import type { FastifyInstance } from 'fastify';
import { CodedError } from '../../protocol/errors.ts';
import type { AppDeps } from '../deps.ts';

const FILE = /^([0-9a-f]{64})\.wasm$/;

export function downloadRoutes(app: FastifyInstance, deps: Pick<AppDeps, 'store'>): void {
  app.get<{ Params: { file: string } }>('/modules/:file', async (request, reply) => {
    const hash = FILE.exec(request.params.file)?.[1];
    const module = hash ? await deps.store.getModule(hash) : undefined;
    if (!hash || !module) throw new CodedError('module_not_found', `no module ${request.params.file}`);
    const etag = `"${hash}"`;
    reply
      .header('etag', etag)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('access-control-allow-origin', '*')
      .header('cross-origin-resource-policy', 'cross-origin')
      .header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match']?.split(/\s*,\s*/).includes(etag)) return reply.code(304).send();
    const bytes = Buffer.from(module.bytes.buffer, module.bytes.byteOffset, module.bytes.byteLength);
    return reply.type('application/wasm').send(bytes);
  });
}

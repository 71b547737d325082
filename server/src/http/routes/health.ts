/** `GET /api/v1/health`: 200 when the coordinator can take work, 503 while it shuts down. */
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '../../protocol/http.ts';
import type { AppDeps } from '../deps.ts';

export function healthRoutes(app: FastifyInstance, deps: Pick<AppDeps, 'isReady'>): void {
  app.get(`${API_PREFIX}/health`, async (_request, reply) => {
    const ready = deps.isReady?.() ?? true;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'shutting_down' });
  });
}

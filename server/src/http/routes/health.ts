/** `GET /api/v1/health`: 200 when the coordinator can take work, 503 while it shuts down. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { API_PREFIX } from '../../protocol/http.ts';
import type { AppDeps } from '../deps.ts';

const HealthReply = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('shutting_down')]) });

const schema = {
  tags: ['service'],
  summary: 'Whether the coordinator takes work',
  description: 'No key needed: for load balancers and supervisors.',
  security: [],
  response: {
    200: { ...HealthReply, description: 'Ready' },
    503: { ...HealthReply, description: 'Shutting down' },
  },
};

export function healthRoutes(app: FastifyInstance, deps: Pick<AppDeps, 'isReady'>): void {
  app.get(`${API_PREFIX}/health`, { schema }, async (_request, reply) => {
    const ready = deps.isReady?.() ?? true;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'shutting_down' });
  });
}

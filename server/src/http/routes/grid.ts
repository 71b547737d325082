/** `GET /grid`: what any caller may know of the grid now (the CLI's live line shows it). */
import type { FastifyInstance } from 'fastify';
import type { GridInfo } from '../../protocol/http.ts';
import type { AppDeps } from '../deps.ts';

export function gridRoutes(api: FastifyInstance, deps: AppDeps): void {
  api.get('/grid', async () => {
    const info: GridInfo = { volunteersOnline: deps.volunteersOnline() };
    return info;
  });
}

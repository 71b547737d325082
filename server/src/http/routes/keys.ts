/**
 * Keys (operator only): `POST /keys` makes a key for a task author or a site owner and shows its
 * secret this once; `GET /keys` lists them without secrets; `DELETE /keys/:id` revokes one, at once.
 */
import type { FastifyInstance } from 'fastify';
import { secretHash } from '../../accounts/keys.ts';
import { CodedError } from '../../protocol/errors.ts';
import { CreateKeyBody, KeyIdParams, type CreatedKey, type KeyList } from '../../protocol/http.ts';
import type { AppDeps } from '../deps.ts';
import { requireJson } from './content-type.ts';

export function keyRoutes(api: FastifyInstance, deps: AppDeps): void {
  const { store, now, newApiKey } = deps;

  api.post<{ Body: CreateKeyBody }>('/keys', { schema: { body: CreateKeyBody }, preValidation: requireJson }, async (request, reply) => {
    const { id, secret } = newApiKey();
    const record = await store.createKey({ id, role: request.body.role, name: request.body.name, secretHash: secretHash(secret), createdAt: now() });
    const created: CreatedKey = { ...record, secret };
    return reply.code(201).header('location', `${request.url}/${id}`).header('cache-control', 'no-store').send(created);
  });

  api.get('/keys', async () => {
    const list: KeyList = { keys: await store.listKeys() };
    return list;
  });

  api.delete<{ Params: { id: string } }>('/keys/:id', { schema: { params: KeyIdParams } }, async (request) => {
    const key = await store.revokeKey(request.params.id, now());
    if (!key) throw new CodedError('key_not_found', `no key ${request.params.id}`);
    return key;
  });
}

/**
 * Volunteers: `GET /volunteers/:id` reads one volunteer's record (reputation and quota), for the
 * operator and for tests that check what a lying or hoarding volunteer earned.
 */
import type { FastifyInstance } from 'fastify';
import { CodedError } from '../../protocol/errors.ts';
import { VolunteerInfo, VolunteerParams } from '../../protocol/http.ts';
import { claimableFrom, isTrusted } from '../../scheduler/reputation.ts';
import type { AppDeps } from '../deps.ts';

export function volunteerRoutes(api: FastifyInstance, deps: AppDeps): void {
  const schema = {
    summary: "A volunteer's record",
    description: 'What its results earned it: reputation, quota, strikes (see docs/scheduling.md).',
    params: VolunteerParams,
    response: { 200: VolunteerInfo },
  };
  api.get<{ Params: { id: string } }>('/volunteers/:id', { schema }, async (request) => {
    const record = await deps.store.getVolunteer(request.params.id);
    if (!record) throw new CodedError('volunteer_not_found', `no volunteer ${request.params.id}: it has never asked for work`);
    const { struckAt, ...rest } = record;
    const until = claimableFrom(record, struckAt);
    const info: VolunteerInfo = { ...rest, trusted: isTrusted(record), coolingDownUntil: until > deps.now() ? until : 0 };
    return info;
  });
}

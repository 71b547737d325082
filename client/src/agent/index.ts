/** The Node volunteer agent's public API. */
export { startNodeVolunteer } from './volunteer.ts';
export type { NodeVolunteer, NodeVolunteerOptions } from './volunteer.ts';
export type { VolunteerStats } from '../runtime/volunteer-loop.ts';

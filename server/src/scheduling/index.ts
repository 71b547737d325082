/**
 * The scheduling service the socket layer calls: volunteer sessions, the leases of connections
 * that died with a previous process, and the sweep timer. Its decisions are the pure functions of
 * `scheduler/`, applied by the store.
 */
export { createScheduler, type Scheduler, type SchedulerDeps, type VolunteerRef } from './service.ts';

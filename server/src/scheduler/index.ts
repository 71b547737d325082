/**
 * The scheduler: the service the socket layer calls, and the pure lease decisions it is made of.
 */
export { createScheduler, type Scheduler, type SchedulerDeps, type VolunteerRef } from './scheduler.ts';
export {
  DEFAULT_GRACE_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  MAX_LEASES_PER_REQUEST,
  expiryCutoff,
  grantCount,
  leaseLimits,
  revocationsBySession,
  toWireLease,
} from './leases.ts';
export type { CompleteOutcome, FailOutcome } from '../store/index.ts';

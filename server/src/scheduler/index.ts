/**
 * The scheduler's pure decisions: how many leases a request gets and what travels with them
 * (`leases.ts`), which jobs they come from (`fair-share.ts`), when replicas agree (`quorum.ts`),
 * and what a volunteer has earned (`reputation.ts`). No I/O and no clock; the store applies them
 * inside its transactions and the scheduling service (`scheduling/`) calls the store.
 */
export {
  DEFAULT_GRACE_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  MAX_LEASES_PER_REQUEST,
  expiryCutoff,
  grantCount,
  leaseLimits,
  revocationsBySession,
  toWireLease,
  type ClaimedLease,
  type EndedLease,
} from './leases.ts';

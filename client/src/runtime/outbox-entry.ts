/** One finished piece of work waiting for the coordinator's acknowledgement. */
import type { FailRequest, ResultRequest } from '../../../server/src/protocol/events.ts';

/** One unacknowledged report, keyed by `payload.leaseId`. */
export type OutboxEntry = { kind: 'result'; payload: ResultRequest } | { kind: 'fail'; payload: FailRequest };

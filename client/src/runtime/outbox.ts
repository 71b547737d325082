/**
 * Finished work waiting for the coordinator's acknowledgement. An entry leaves the outbox only
 * when the coordinator answered for it (accepted, or told us the lease is stale), so a result
 * survives a dropped connection and is sent again on reconnect.
 */
import type { FailRequest, ResultRequest } from '../../../server/src/protocol/events.ts';

/** One unacknowledged report. */
export type OutboxEntry = { kind: 'result'; payload: ResultRequest } | { kind: 'fail'; payload: FailRequest };

/** Where unacknowledged reports wait (in memory now; IndexedDB can back the same interface). */
export interface Outbox {
  put(entry: OutboxEntry): Promise<void>;
  delete(leaseId: string): Promise<void>;
  list(): Promise<OutboxEntry[]>;
}

/** An outbox that lives as long as the page or process. */
export function createMemoryOutbox(): Outbox {
  const entries = new Map<string, OutboxEntry>();
  return {
    put: async (entry) => void entries.set(entry.payload.leaseId, entry),
    delete: async (leaseId) => void entries.delete(leaseId),
    list: async () => [...entries.values()],
  };
}

/** What every Store contract suite needs: stores closed after each test, and a job's plain settings. */
import { afterEach } from 'vitest';
import type { QuotaLimits } from '../scheduler/reputation.ts';
import type { NewJobOptions, Store } from './store.ts';

/** What a contract suite may ask of the store it opens. */
export interface ContractStoreOptions {
  quota?: QuotaLimits;
}

/** Opens a fresh, migrated store with these options (each dialect's test file passes its own). */
export type OpenContractStore = (options?: ContractStoreOptions) => Promise<Store>;

/**
 * For suites about something other than quotas: room for a new volunteer to take many leases at
 * once (volunteers earn their quota from 2; `store.replicas.contract.ts` covers that).
 */
export const ROOMY_QUOTA: QuotaLimits = Object.freeze({ initial: 64, max: 64 });

/** Call inside a `describe`: returns an opener whose stores are closed after each test. */
export function closedAfterEach(open: () => Promise<Store>): () => Promise<Store> {
  const opened: Store[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
  });
  return async () => {
    const store = await open();
    opened.push(store);
    return store;
  };
}

/** A job of `moduleHash` with one replica, a 1 s deadline, 3 attempts and priority 1, made at 100. */
export function plainJob(id: string, moduleHash: string): NewJobOptions {
  return { id, moduleHash, redundancy: 1, quorum: 1, deadlineMs: 1000, maxAttempts: 3, priority: 1, createdAt: 100 };
}

/**
 * The database the floor measurements start from (`write-floor.ts`, `throughput-floor.ts`): the
 * real schema and one job at r = 1 of the given inputs, made through the store's own migrations
 * and job creation, then closed for raw statements to take over.
 */
import { openSqliteStore } from '../server/src/store/index.ts';

/** The job's module: a placeholder (nothing runs it). */
export const FLOOR_MODULE_HASH = 'f'.repeat(64);

export async function createFloorDatabase(file: string, jobId: string, inputs: Uint8Array[]): Promise<void> {
  const store = await openSqliteStore({ file });
  try {
    const hash = FLOOR_MODULE_HASH;
    await store.saveModule({ hash, abi: 'bytes', size: 1, bytes: new Uint8Array([0]), createdAt: 0 });
    await store.createJob({ id: jobId, moduleHash: hash, redundancy: 1, quorum: 1, deadlineMs: 60_000, maxAttempts: 3, priority: 1, createdAt: Date.now(), inputs });
  } finally {
    await store.close();
  }
}

/**
 * For the store's tests on real SQLite files: a store on a new temporary file (removed after each
 * test) with one job of tiny tasks at r = 1, its module and its site (`site`) registered.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { QuotaLimits } from '../scheduler/reputation.ts';
import { openSqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

export interface StoreWithJobOptions {
  /** Tasks of the job `job`, with inputs 0, 1, … */
  tasks: number;
  deadlineMs: number;
  quota?: QuotaLimits;
}

/** Call at a test file's top level: the returned function opens such a store (and `file`, to read it back). */
export function sqliteStoresWithJob(): (options: StoreWithJobOptions) => Promise<{ store: Store; file: string }> {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return async ({ tasks, deadlineMs, quota }) => {
    const dir = mkdtempSync(join(tmpdir(), 'sparecycles-store-'));
    dirs.push(dir);
    const file = join(dir, 'coordinator.sqlite');
    const store = await openSqliteStore({ file, ...(quota ? { quota } : {}) });
    const hash = 'e'.repeat(64);
    await store.saveModule({ hash, abi: 'bytes', size: 1, bytes: new Uint8Array([1]), createdAt: 1 });
    await store.createSite({ siteKey: 'site', name: 'site', origins: ['http://localhost:1'], createdAt: 1 });
    await store.createJob({
      id: 'job', moduleHash: hash, redundancy: 1, quorum: 1, deadlineMs, maxAttempts: 3, priority: 1, createdAt: 1,
      inputs: Array.from({ length: tasks }, (_, i) => new Uint8Array([i])),
    });
    return { store, file };
  };
}

/**
 * What a lease ending writes that no Store verb reads back, checked in the SQLite file itself: the
 * CPU time a result claims is bounded by the time its lease was held, and a lease keeps the
 * address it was claimed from.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { CPU_SLACK_MS } from '../scheduler/task-machine.ts';
import { openSqliteStore } from './sqlite.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it('records at most the held time (plus slack) of CPU per result, and the lease address', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sparecycles-endings-'));
  dirs.push(dir);
  const file = join(dir, 'coordinator.sqlite');
  const store = await openSqliteStore({ file });
  const hash = 'f'.repeat(64);
  await store.saveModule({ hash, abi: 'bytes', size: 1, bytes: new Uint8Array([1]), createdAt: 1 });
  await store.createJob({
    id: 'j', moduleHash: hash, redundancy: 1, quorum: 1, deadlineMs: 60_000, maxAttempts: 3, priority: 1, createdAt: 1,
    inputs: [Uint8Array.of(1), Uint8Array.of(2)],
  });
  let n = 0;
  const claim = { sessionId: 's', siteKey: 'k', slots: 2, now: 1_000, newLeaseId: () => `l${++n}`, random: () => 0.5 };
  const { leases: [greedy, modest] } = await store.claimTasks({ ...claim, volunteerId: 'v', address: '2001:db8:1:2::/64' });
  // A day claimed for a lease held half a second, and an honest 300 ms.
  await store.completeLease({ leaseId: greedy!.leaseId, volunteerId: 'v', output: Uint8Array.of(9), cpuMs: 86_400_000, now: 1_500 });
  await store.completeLease({ leaseId: modest!.leaseId, volunteerId: 'v', output: Uint8Array.of(8), cpuMs: 300, now: 1_500 });
  await store.close();

  const raw = new Database(file, { readonly: true });
  try {
    const rows = raw.prepare('select id, cpu_ms, address from leases order by id').all();
    expect(rows).toEqual([
      { id: 'l1', cpu_ms: 500 + CPU_SLACK_MS, address: '2001:db8:1:2::/64' },
      { id: 'l2', cpu_ms: 300, address: '2001:db8:1:2::/64' },
    ]);
  } finally {
    raw.close();
  }
});

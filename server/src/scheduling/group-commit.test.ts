/**
 * Group commit on a real SQLite file: the Store contract suites hold through the wrapper (same
 * verbs, same answers), answers queued together share one transaction, a bad answer fails only
 * itself, a result sent before its connection's release is still recorded, and a caller hears of
 * its answer only once another connection to the file can read it (committed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/sqlite.ts';
import type { BatchOp, Store } from '../store/index.ts';
import { describeStoreContract } from '../store/store.contract.ts';
import { describeReplicaContract } from '../store/store.replicas.contract.ts';
import { withGroupCommit } from './group-commit.ts';

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sparecycles-group-commit-'));
  dirs.push(dir);
  return join(dir, 'coordinator.sqlite');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStoreContract('sqlite with group commit', async (options) => withGroupCommit(await openSqliteStore({ file: tempFile(), ...options })));
describeReplicaContract('sqlite with group commit', async () => withGroupCommit(await openSqliteStore({ file: tempFile() })));

const HASH = 'c'.repeat(64);
const SITE = 'site-1';

/** A store over `file` that records the size of every batch it runs. */
async function recording(file: string): Promise<{ store: Store; batches: number[] }> {
  const store = await openSqliteStore({ file });
  const batches: number[] = [];
  return {
    batches,
    store: {
      ...store,
      answerBatch: (ops: readonly BatchOp[]) => {
        batches.push(ops.length);
        return store.answerBatch(ops);
      },
    },
  };
}

async function withJob(store: Store, tasks: number): Promise<void> {
  await store.saveModule({ hash: HASH, abi: 'bytes', size: 1, bytes: new Uint8Array([1]), createdAt: 1 });
  await store.createSite({ siteKey: SITE, name: 'site', origins: ['http://localhost:1'], createdAt: 1 });
  await store.createJob({
    id: 'job', moduleHash: HASH, redundancy: 1, quorum: 1, deadlineMs: 60_000, maxAttempts: 3, priority: 1, createdAt: 1,
    inputs: Array.from({ length: tasks }, (_, i) => new Uint8Array([i])),
  });
}

let leaseCount = 0;
const claimOf = (volunteer: number, slots = 1) => ({
  volunteerId: `volunteer-${volunteer}`,
  sessionId: `session-${volunteer}`,
  siteKey: SITE,
  slots,
  now: 1000,
  newLeaseId: () => `lease-${leaseCount++}`,
  random: () => 0.5,
});

describe('group commit', () => {
  it('runs answers queued in the same turn in one transaction, each with its own outcome', async () => {
    const file = tempFile();
    const { store: inner, batches } = await recording(file);
    const store = withGroupCommit(inner);
    try {
      await withJob(store, 20);
      const claimed = await Promise.all(Array.from({ length: 10 }, (_, v) => store.claimTasks(claimOf(v, 2)).then((c) => c.leases)));
      expect(batches).toEqual([10]);
      expect(claimed.flat()).toHaveLength(20);
      expect(new Set(claimed.flat().map((lease) => lease.index)).size).toBe(20);

      const answers = claimed.flatMap((leases, v) =>
        leases.map((lease) => store.completeLease({ leaseId: lease.leaseId, volunteerId: `volunteer-${v}`, output: new Uint8Array([lease.index]), cpuMs: 1, now: 2000 })),
      );
      // Fenced inside the same batch: a repeat is a duplicate, another volunteer's lease is stale.
      const first = claimed[0]![0]!;
      const repeat = store.completeLease({ leaseId: first.leaseId, volunteerId: 'volunteer-0', output: new Uint8Array([first.index]), cpuMs: 1, now: 2000 });
      const foreign = store.completeLease({ leaseId: claimed[1]![0]!.leaseId, volunteerId: 'volunteer-0', output: new Uint8Array([9]), cpuMs: 1, now: 2000 });
      const outcomes = (await Promise.all(answers)).map((effects) => effects.outcome);
      expect(outcomes).toEqual(Array(20).fill('accepted'));
      expect((await repeat).outcome).toBe('duplicate');
      expect((await foreign).outcome).toBe('stale');
      expect(batches).toEqual([10, 22]);

      const status = await store.getJob('job');
      expect(status?.state).toBe('completed');
      expect(status?.counts.completed).toBe(20);
    } finally {
      await store.close();
    }
  });

  it('fails only the bad answer of a batch: the others are recorded', async () => {
    const store = withGroupCommit(await openSqliteStore({ file: tempFile() }));
    try {
      await withJob(store, 3);
      const leases = (await Promise.all([0, 1, 2].map((v) => store.claimTasks(claimOf(v)).then((c) => c.leases)))).flat();
      const answer = (v: number, output: unknown) =>
        store.completeLease({ leaseId: leases[v]!.leaseId, volunteerId: `volunteer-${v}`, output: output as Uint8Array, cpuMs: 1, now: 2000 });
      // An output that is not bytes makes hashing it throw inside the batch's transaction.
      const [good, bad, alsoGood] = await Promise.allSettled([answer(0, new Uint8Array([0])), answer(1, 42), answer(2, new Uint8Array([2]))]);
      expect(good.status === 'fulfilled' && good.value.outcome).toBe('accepted');
      expect(bad.status).toBe('rejected');
      expect(alsoGood.status === 'fulfilled' && alsoGood.value.outcome).toBe('accepted');
      expect((await store.getJob('job'))?.counts).toMatchObject({ completed: 2, running: 1 });
    } finally {
      await store.close();
    }
  });

  it('loses no task when a claim is rolled back with its batch: run again alone, it takes the same first task', async () => {
    const store = withGroupCommit(await openSqliteStore({ file: tempFile() }));
    try {
      await withJob(store, 6);
      const [first] = (await store.claimTasks(claimOf(0))).leases;
      expect(first?.index).toBe(0);
      // The volunteer's claim, then its answer that throws, in one batch (its operations keep their
      // order): the claim has taken a task when the batch rolls back; then each runs alone.
      const [claimed, bad] = await Promise.allSettled([
        store.claimTasks(claimOf(0)),
        store.completeLease({ leaseId: first!.leaseId, volunteerId: 'volunteer-0', output: 42 as unknown as Uint8Array, cpuMs: 1, now: 2000 }),
      ]);
      expect(bad.status).toBe('rejected');
      expect(claimed.status === 'fulfilled' && claimed.value.leases.map((lease) => lease.index)).toEqual([1]);
      // New volunteers start at a quota of two: two more take the rest, in order, none skipped.
      const rest = [(await store.claimTasks(claimOf(2, 2))).leases, (await store.claimTasks(claimOf(3, 2))).leases].flat().map((lease) => lease.index);
      expect(rest).toEqual([2, 3, 4, 5]);
    } finally {
      await store.close();
    }
  });

  it('records a result sent before its connection closed, not the release', async () => {
    const store = withGroupCommit(await openSqliteStore({ file: tempFile() }));
    try {
      await withJob(store, 1);
      const [lease] = (await store.claimTasks(claimOf(0))).leases;
      const result = store.completeLease({ leaseId: lease!.leaseId, volunteerId: 'volunteer-0', output: new Uint8Array([1]), cpuMs: 1, now: 2000 });
      const released = store.releaseSession('session-0', 2001, 'vanished');
      expect((await result).outcome).toBe('accepted');
      expect(await released).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('answers a caller only after its result is committed (readable by another connection)', async () => {
    const file = tempFile();
    const store = withGroupCommit(await openSqliteStore({ file }));
    const reader = new Database(file, { readonly: true });
    try {
      await withJob(store, 4);
      const leases = (await Promise.all([0, 1, 2, 3].map((v) => store.claimTasks(claimOf(v)).then((c) => c.leases)))).flat();
      const states = await Promise.all(
        leases.map(async (lease, v) => {
          await store.completeLease({ leaseId: lease.leaseId, volunteerId: `volunteer-${v}`, output: new Uint8Array([v]), cpuMs: 1, now: 2000 });
          return (reader.prepare('select state from leases where id = ?').get(lease.leaseId) as { state: string }).state;
        }),
      );
      expect(states).toEqual(['completed', 'completed', 'completed', 'completed']);
    } finally {
      reader.close();
      await store.close();
    }
  });
});

/**
 * Grants kept unwritten (`granted-leases.ts`) on a real SQLite file, fenced as if their rows had
 * been written at the grant: after each verb that can end or change the lease (each writes the
 * grants first), its result is fenced exactly as the database says; after a rolled-back claim, a
 * lease that never existed accepts nothing. (What the file holds: `lease-rows.sqlite.test.ts`.)
 */
import { describe, expect, it } from 'vitest';
import { sqliteStoresWithJob } from './sqlite-testing.ts';
import type { BatchOp, BatchResult, ClaimRequest, Store } from './store.ts';

const openStoreWithJob = sqliteStoresWithJob();
const storeWithJob = async (): Promise<Store> => (await openStoreWithJob({ tasks: 20, deadlineMs: 10_000, quota: { initial: 8, max: 64 } })).store;

const claim = (volunteer: string, leaseId: string): ClaimRequest => ({
  volunteerId: volunteer,
  sessionId: `session-${volunteer}`,
  siteKey: 'site',
  slots: 1,
  now: 1000,
  newLeaseId: () => leaseId,
  random: () => 0.5,
});

const result = (volunteer: string, leaseId: string, now = 2000): BatchOp => ({
  verb: 'complete',
  request: { leaseId, volunteerId: volunteer, output: new Uint8Array([7]), cpuMs: 1, now },
});

const outcomes = (results: BatchResult[]) => results.map((r) => (r.verb === 'complete' ? r.effects.outcome : r.verb === 'fail' ? r.effects.outcome : r.outcome.leases.length));

/** Claims `a` (the lease under test) and `b` (a control answered in the same batch). */
async function twoGrants(store: Store): Promise<void> {
  const [a] = await store.answerBatch([{ verb: 'claim', request: claim('va', 'lease-a') }, { verb: 'claim', request: claim('vb', 'lease-b') }]);
  expect(a?.verb === 'claim' && a.outcome.leases.map((lease) => lease.leaseId)).toEqual(['lease-a']);
}

describe('leases remembered from their grant', () => {
  it('answer their results in a batch as the database would, with nothing between', async () => {
    const store = await storeWithJob();
    try {
      await twoGrants(store);
      expect(outcomes(await store.answerBatch([result('va', 'lease-a'), result('vb', 'lease-b'), result('vb', 'lease-a')]))).toEqual(['accepted', 'accepted', 'stale']);
      expect((await store.getJob('job'))?.counts.completed).toBe(2);
    } finally {
      await store.close();
    }
  });

  const between: [string, (store: Store) => Promise<unknown>][] = [
    ['the job is cancelled', (store) => store.cancelJob('job', 1500)],
    ['the lease expires', (store) => store.expireLeases(20_000, 20_000)],
    ['its connection closes', (store) => store.releaseSession('session-va', 1500)],
    ['its volunteer reports it failed', (store) => store.failLease({ leaseId: 'lease-a', volunteerId: 'va', kind: 'trap', message: 'boom', now: 1500 })],
    ['a batch fails it one by one', (store) => store.answerBatch([{ verb: 'fail', request: { leaseId: 'lease-a', volunteerId: 'va', kind: 'trap', message: 'boom', now: 1500 } }])],
  ];
  for (const [what, verb] of between) {
    it(`fence a result once ${what} after the grant`, async () => {
      const store = await storeWithJob();
      try {
        await twoGrants(store);
        await verb(store);
        const [a] = outcomes(await store.answerBatch([result('va', 'lease-a', 30_000), result('vb', 'lease-b', 30_000)]));
        expect(a).toBe('stale');
      } finally {
        await store.close();
      }
    });
  }

  it('take a result answered alone first as a repeat in a later batch', async () => {
    const store = await storeWithJob();
    try {
      await twoGrants(store);
      expect((await store.completeLease({ leaseId: 'lease-a', volunteerId: 'va', output: new Uint8Array([7]), cpuMs: 1, now: 1500 })).outcome).toBe('accepted');
      expect(outcomes(await store.answerBatch([result('va', 'lease-a'), result('vb', 'lease-b')]))).toEqual(['duplicate', 'accepted']);
      expect((await store.getJob('job'))?.counts.completed).toBe(2);
    } finally {
      await store.close();
    }
  });

  it('accept nothing for a lease whose claim was rolled back', async () => {
    const store = await storeWithJob();
    try {
      // The first claim makes `lease-ghost`; the second throws while making its lease: the batch rolls back.
      const failing: ClaimRequest = { ...claim('vb', 'unused'), newLeaseId: () => { throw new Error('no lease id'); } };
      await expect(store.answerBatch([{ verb: 'claim', request: claim('va', 'lease-ghost') }, { verb: 'claim', request: failing }])).rejects.toThrow('no lease id');
      // The ghost's task goes to `vb`; `vc`'s result is the batch's control, on another task.
      expect((await store.claimTasks(claim('vb', 'lease-b'))).leases.map((lease) => lease.index)).toEqual([0]);
      await store.claimTasks(claim('vc', 'lease-c'));
      expect(outcomes(await store.answerBatch([result('va', 'lease-ghost'), result('vc', 'lease-c')]))).toEqual(['stale', 'accepted']);
      expect(outcomes(await store.answerBatch([result('vb', 'lease-b')]))).toEqual(['accepted']);
    } finally {
      await store.close();
    }
  });
});

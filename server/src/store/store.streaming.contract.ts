/**
 * The Store contract for streamed jobs, run per dialect like `store.contract.ts`: a request's
 * inputs exist for nobody until it commits, a failed request leaves nothing, an open job is never
 * completed, cancelled stays cancelled, and settled tasks keep the order they settled in.
 */
import { describe, expect, it } from 'vitest';
import { CodedError } from '../protocol/errors.ts';
import type { NewJobOptions, Store } from './store.ts';
import { ROOMY_QUOTA, closedAfterEach, plainJob, type OpenContractStore } from './contract-support.ts';

const MODULE = 'c'.repeat(64);

export function describeStreamingContract(name: string, open: OpenContractStore): void {
  describe(`Store streaming contract: ${name}`, () => {
    const openStore = closedAfterEach(() => open({ quota: ROOMY_QUOTA }));

    async function fresh(): Promise<Store> {
      const store = await openStore();
      await store.saveModule({ hash: MODULE, abi: 'bytes', size: 1, bytes: new Uint8Array([0]), createdAt: 1 });
      return store;
    }

    const options = (id: string, overrides: Partial<NewJobOptions> = {}): NewJobOptions => ({ ...plainJob(id, MODULE), ...overrides });
    const inputs = (from: number, n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => new Uint8Array([(from + i) & 255]));
    let leases = 0;
    const claim = (store: Store, slots: number, volunteerId = 'vol-1') =>
      store.claimTasks({ volunteerId, sessionId: `s-${volunteerId}`, siteKey: 'site', slots, now: 1000, newLeaseId: () => `l-${++leases}`, random: () => 0.5 }).then((outcome) => outcome.leases);
    const codeOf = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: unknown) => (error instanceof CodedError ? error.code : String(error)));

    it('a staged job and its inputs exist for nobody until committed', async () => {
      const store = await fresh();
      await store.createStagedJob(options('s1'));
      await store.stageInputs('s1', 0, inputs(0, 5), 100);
      expect(await store.getJob('s1')).toBeUndefined();
      expect(await store.listJobs({ limit: 10 })).toEqual([]);
      expect(await claim(store, 4)).toEqual([]);
      expect(await store.cancelJob('s1', 100)).toBeUndefined();
      await store.commitInputs('s1', 5, 100);
      expect((await store.getJob('s1'))?.counts).toMatchObject({ total: 5, pending: 5 });
      expect((await claim(store, 8)).map((l) => l.index)).toEqual([0, 1, 2, 3, 4]);
    });

    it('a discarded request leaves no job, and an append that fails leaves the job as it was', async () => {
      const store = await fresh();
      await store.createStagedJob(options('gone'));
      await store.stageInputs('gone', 0, inputs(0, 3), 100);
      await store.discardInputs('gone');
      expect(await store.getJob('gone')).toBeUndefined();
      await store.createStagedJob(options('gone'));
      await store.commitInputs('gone', 0, 100);

      await store.createStagedJob(options('o', { open: true }));
      await store.stageInputs('o', 0, inputs(0, 2), 100);
      await store.commitInputs('o', 2, 100);
      expect(await store.beginInputs('o')).toBe(2);
      await store.stageInputs('o', 2, inputs(2, 3), 100);
      expect(await claim(store, 8)).toHaveLength(2);
      await store.discardInputs('o');
      expect((await store.getJob('o'))?.counts.total).toBe(2);
      // Leftovers of a request that died with the process are deleted by the next one.
      expect(await store.beginInputs('o')).toBe(2);
      await store.stageInputs('o', 2, inputs(2, 1), 100);
      expect(await store.beginInputs('o')).toBe(2);
      await store.stageInputs('o', 2, inputs(7, 1), 100);
      await store.commitInputs('o', 3, 100);
      expect((await store.listResults('o', 0, 10)).map((r) => r.index)).toEqual([0, 1, 2]);
    });

    it('after a restart, the inputs of requests that died with the process are deleted, and the jobs they were creating', async () => {
      const store = await fresh();
      await store.createStagedJob(options('dying'));
      await store.stageInputs('dying', 0, inputs(0, 3), 100);
      await store.createJob({ ...options('open', { open: true }), inputs: inputs(0, 2) });
      expect(await store.beginInputs('open')).toBe(2);
      await store.stageInputs('open', 2, inputs(2, 4), 100);
      await store.createJob({ ...options('whole'), inputs: inputs(0, 2) });
      expect(await store.discardAbandonedInputs()).toBe(2);
      expect(await store.discardAbandonedInputs()).toBe(0);
      await store.commitInputs('open', 2, 100);
      expect((await store.listResults('open', 0, 10)).map((r) => r.index)).toEqual([0, 1]);
      expect(await codeOf(store.commitInputs('dying', 3, 100))).toBe('job_not_found');
      expect((await store.getJob('whole'))?.counts.total).toBe(2);
    });

    it('an open job is never completed; closing completes it once its tasks are settled', async () => {
      const store = await fresh();
      await store.createJob({ ...options('j', { open: true }), inputs: inputs(0, 2) });
      for (const lease of await claim(store, 2)) {
        await store.completeLease({ leaseId: lease.leaseId, volunteerId: 'vol-1', output: new Uint8Array([lease.index]), cpuMs: 1, now: 2000 });
      }
      expect(await store.getJob('j')).toMatchObject({ state: 'active', open: true, counts: { total: 2, completed: 2 } });
      expect(await store.beginInputs('j')).toBe(2);
      await store.stageInputs('j', 2, inputs(2, 1), 2000);
      await store.commitInputs('j', 3, 2000);
      expect(await store.closeJob('j', 2100)).toBe(true);
      expect(await store.getJob('j')).toMatchObject({ state: 'active', open: false });
      expect(await codeOf(store.beginInputs('j'))).toBe('conflict');
      const [last] = await claim(store, 1);
      await store.completeLease({ leaseId: last!.leaseId, volunteerId: 'vol-1', output: new Uint8Array([9]), cpuMs: 1, now: 2200 });
      expect(await store.getJob('j')).toMatchObject({ state: 'completed', counts: { total: 3, completed: 3 } });
      expect(await store.closeJob('missing', 0)).toBe(false);

      // Empty: closed at once → completed; open → active until closed.
      await store.createStagedJob(options('empty'));
      await store.commitInputs('empty', 0, 100);
      expect((await store.getJob('empty'))?.state).toBe('completed');
      await store.createStagedJob(options('empty-open', { open: true }));
      await store.commitInputs('empty-open', 0, 100);
      expect((await store.getJob('empty-open'))?.state).toBe('active');
      await store.closeJob('empty-open', 200);
      expect((await store.getJob('empty-open'))?.state).toBe('completed');
    });

    it('a job cancelled while inputs arrive stays cancelled and takes none of them', async () => {
      const store = await fresh();
      await store.createJob({ ...options('c', { open: true }), inputs: inputs(0, 1) });
      const from = await store.beginInputs('c');
      await store.stageInputs('c', from, inputs(1, 4), 100);
      await store.cancelJob('c', 150);
      expect(await codeOf(store.commitInputs('c', 5, 200))).toBe('conflict');
      await store.discardInputs('c');
      expect(await store.getJob('c')).toMatchObject({ state: 'cancelled', counts: { total: 1, cancelled: 1 } });
      expect(await codeOf(store.beginInputs('c'))).toBe('conflict');
      await store.closeJob('c', 300);
      expect((await store.getJob('c'))?.state).toBe('cancelled');
    });

    it('a job closed while inputs arrive takes none of them', async () => {
      const store = await fresh();
      await store.createJob({ ...options('late', { open: true }), inputs: inputs(0, 1) });
      const from = await store.beginInputs('late');
      await store.stageInputs('late', from, inputs(1, 2), 100);
      await store.closeJob('late', 150);
      expect(await codeOf(store.commitInputs('late', 3, 200))).toBe('conflict');
      await store.discardInputs('late');
      expect(await store.getJob('late')).toMatchObject({ open: false, counts: { total: 1, pending: 1 } });
    });

    it('lists settled tasks in the order they settled, and jobs newest first', async () => {
      const store = await fresh();
      await store.createJob({ ...options('r', { maxAttempts: 1 }), inputs: inputs(0, 4) });
      const leased = await claim(store, 4);
      const byIndex = new Map(leased.map((l) => [l.index, l.leaseId]));
      await store.completeLease({ leaseId: byIndex.get(2)!, volunteerId: 'vol-1', output: new Uint8Array([2]), cpuMs: 1, now: 1100 });
      await store.failLease({ leaseId: byIndex.get(0)!, volunteerId: 'vol-1', kind: 'trap', message: 'boom', now: 1200 });
      await store.completeLease({ leaseId: byIndex.get(3)!, volunteerId: 'vol-1', output: new Uint8Array([3]), cpuMs: 1, now: 1300 });
      const settled = await store.listSettled('r', 0, 10);
      expect(settled.map((t) => [t.seq, t.index, t.state])).toEqual([
        [1, 2, 'completed'],
        [2, 0, 'failed'],
        [3, 3, 'completed'],
      ]);
      expect(Array.from(settled[0]!.output ?? [])).toEqual([2]);
      expect(settled[1]!.errors?.[0]?.kind).toBe('trap');
      expect((await store.listSettled('r', 2, 10)).map((t) => t.index)).toEqual([3]);

      await store.createJob({ ...options('newer', { createdAt: 200 }), inputs: inputs(0, 1) });
      await store.createJob({ ...options('older', { createdAt: 50 }), inputs: [] });
      expect((await store.listJobs({ limit: 10 })).map((j) => j.id)).toEqual(['newer', 'r', 'older']);
      expect((await store.listJobs({ limit: 1 })).map((j) => j.id)).toEqual(['newer']);
      expect((await store.listJobs({ state: 'completed', limit: 10 })).map((j) => j.id)).toEqual(['older']);
    });
  });
}

/**
 * The Store contract for `answerBatch` (group commit's one transaction for many answers), one
 * vitest suite per dialect: a batch gives every operation what the single verbs would, and leaves
 * the same tasks, jobs and volunteer records, whatever mix of results (lone and replicated,
 * honest and lying, repeated, stale, another volunteer's) and failures it holds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BatchOp, BatchResult, ClaimRequest, NewJob, Store } from './store.ts';
import { closedAfterEach, ROOMY_QUOTA, type ContractStoreOptions } from './contract-support.ts';

const MODULE = 'c'.repeat(64);
const HONEST = Uint8Array.of(7);
const TASKS = 6;
const VOLUNTEERS = 4;

/** Registers the batch contract tests under `name`; `open` returns a fresh, migrated store. */
export function describeBatchContract(name: string, open: (options?: ContractStoreOptions) => Promise<Store>): void {
  describe(`Store batch contract: ${name}`, () => {
    const openRoomy = closedAfterEach(() => open({ quota: ROOMY_QUOTA }));
    // Earned quotas (2 at first, doubling per accepted result): a claim then gets more or less
    // depending on which of its volunteer's results came before it.
    const openEarning = closedAfterEach(() => open());

    async function fresh(quota: 'roomy' | 'earned' = 'roomy'): Promise<Store> {
      const store = await (quota === 'roomy' ? openRoomy() : openEarning());
      await store.saveModule({ hash: MODULE, abi: 'bytes', size: 3, bytes: Uint8Array.of(0, 97, 115), createdAt: 1 });
      return store;
    }

    function job(id: string, shape: { redundancy: number; quorum: number }): NewJob {
      return { id, moduleHash: MODULE, ...shape, deadlineMs: 10_000, maxAttempts: 3, priority: 1, createdAt: 100, inputs: Array.from({ length: TASKS }, (_, i) => Uint8Array.of(i)) };
    }

    /** A claim whose lease ids and draws depend only on `run` and the order of calls. */
    function claimRequest(run: number, volunteer: number, slots: number, now: number, ids: { next: number }): ClaimRequest {
      return {
        volunteerId: `b${run}-vol-${volunteer}`,
        sessionId: `b${run}-session-${volunteer}`,
        siteKey: 'site-1',
        slots,
        now,
        newLeaseId: () => `b${run}-lease-${++ids.next}`,
        random: () => 0.999_999,
      };
    }

    /** The single verb of `op`, as a batch result. */
    async function one(store: Store, op: BatchOp): Promise<BatchResult> {
      if (op.verb === 'claim') return { verb: 'claim', outcome: await store.claimTasks(op.request) };
      if (op.verb === 'complete') return { verb: 'complete', effects: await store.completeLease(op.request) };
      return { verb: 'fail', effects: await store.failLease(op.request) };
    }

    /** A result as compared: leases by id and task, revoked leases as a sorted list. */
    function comparable(result: BatchResult): unknown {
      if (result.verb === 'claim') return { claim: result.outcome.leases.map((lease) => [lease.leaseId, lease.taskId]), empty: result.outcome.empty?.reason };
      const { outcome, jobId, reopened, revoked } = result.effects;
      return { [result.verb]: outcome, jobId, reopened, revoked: revoked.map((lease) => lease.leaseId).sort() };
    }

    /** What a job leaves behind: its tasks, counts and state, and its volunteers' records. */
    async function leftBehind(store: Store, jobId: string, run: number): Promise<unknown> {
      const tasks = (await store.listResults(jobId, 0, TASKS)).map((task) => ({ index: task.index, state: task.state, output: [...(task.output ?? [])] }));
      const status = await store.getJob(jobId);
      const lines = await store.listSettled(jobId, 0, TASKS + 1);
      // Which tasks settled; their places may differ (volunteers' operations interleave), but
      // every settled task holds one of the places 1..n.
      const settled = lines.map((line) => line.index).sort((a, b) => a - b);
      expect(lines.map((line) => line.seq).sort((a, b) => a - b)).toEqual(lines.map((_, n) => n + 1));
      const volunteers = [];
      for (let v = 0; v < VOLUNTEERS; v++) volunteers.push(await store.getVolunteer(`b${run}-vol-${v}`));
      return { tasks, state: status?.state, counts: status?.counts, settled, volunteers };
    }

    /** The same job on every store, and the same claims on each: the same leases out, with the same ids. */
    async function leaseOnBoth(stores: Store[], run: number, newJob: NewJob, slots: readonly number[]): Promise<{ leaseId: string; volunteer: number }[]> {
      let held: { leaseId: string; volunteer: number }[] = [];
      for (const store of stores) {
        await store.createJob(newJob);
        const ids = { next: 0 };
        held = [];
        for (let v = 0; v < VOLUNTEERS; v++) {
          const { leases } = await store.claimTasks(claimRequest(run, v, slots[v]!, 1000, ids));
          for (const lease of leases) held.push({ leaseId: lease.leaseId, volunteer: v });
        }
      }
      return held;
    }

    /**
     * Runs `ops` as one batch on `batched` and one by one on `single` (after `rewind`, so their
     * claims make the same lease ids), and expects the same answers and the same job left behind.
     */
    async function expectSameAsOneByOne(batched: Store, single: Store, ops: BatchOp[], rewind: () => void, jobId: string, run: number): Promise<void> {
      const together = await batched.answerBatch(ops);
      rewind();
      const apart: BatchResult[] = [];
      for (const op of ops) apart.push(await one(single, op));
      expect(together.map(comparable)).toEqual(apart.map(comparable));
      expect(await leftBehind(batched, jobId, run)).toEqual(await leftBehind(single, jobId, run));
    }

    type Answer = { kind: 'honest' | 'liar' | 'fail' | 'twice' | 'stranger' | 'none' };
    const answerArb: fc.Arbitrary<Answer> = fc.record({ kind: fc.constantFrom('honest', 'honest', 'honest', 'liar', 'fail', 'twice', 'stranger', 'none') });

    it('gives every operation what the single verbs give one by one, and leaves the same tasks, job and volunteers', async () => {
      const batched = await fresh();
      const single = await fresh();
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 3 }).chain((redundancy) => fc.record({ redundancy: fc.constant(redundancy), quorum: fc.integer({ min: 1, max: redundancy }) })),
          fc.array(fc.integer({ min: 1, max: 4 }), { minLength: VOLUNTEERS, maxLength: VOLUNTEERS }),
          fc.array(answerArb, { minLength: 16, maxLength: 16 }),
          fc.array(fc.nat(), { minLength: 16, maxLength: 16 }),
          async (shape, slots, answers, order) => {
            run += 1;
            const jobId = `batch-${run}`;
            // The same claims on both stores, with the same lease ids: the same leases out.
            const held = await leaseOnBoth([batched, single], run, job(jobId, shape), slots);
            const answerOps: BatchOp[] = [];
            const now = 1500;
            held.forEach(({ leaseId, volunteer }, n) => {
              const volunteerId = `b${run}-vol-${volunteer}`;
              const complete = (output: Uint8Array, by = volunteerId): BatchOp => ({ verb: 'complete', request: { leaseId, volunteerId: by, output, cpuMs: 3, now } });
              const kind = answers[n % answers.length]!.kind;
              if (kind === 'honest') answerOps.push(complete(HONEST));
              else if (kind === 'liar') answerOps.push(complete(Uint8Array.of(100 + volunteer)));
              else if (kind === 'twice') answerOps.push(complete(HONEST), complete(HONEST));
              else if (kind === 'stranger') answerOps.push(complete(HONEST, `b${run}-vol-${(volunteer + 1) % VOLUNTEERS}`), complete(HONEST));
              else if (kind === 'fail') answerOps.push({ verb: 'fail', request: { leaseId, volunteerId, kind: 'trap', message: 'boom', now } });
            });
            // Shuffled: a volunteer's operations land anywhere among the others'.
            const shuffled = answerOps.map((op, n) => ({ op, key: order[n % order.length]! * 31 + n })).sort((a, b) => a.key - b.key).map((entry) => entry.op);
            const ids = { next: 1000 };
            const claims: BatchOp[] = Array.from({ length: VOLUNTEERS }, (_, v) => ({ verb: 'claim', request: claimRequest(run, v, 2, now, ids) }));
            const ops = [...shuffled, ...claims];

            await expectSameAsOneByOne(batched, single, ops, () => (ids.next = 1000), jobId, run);
            // The leases' rows agree too: every answer sent again is a duplicate or stale alike.
            const again = ops.filter((op) => op.verb !== 'claim');
            await expectSameAsOneByOne(batched, single, again, () => undefined, jobId, run);
          },
        ),
        { numRuns: 40 },
      );
    });

    it("keeps each volunteer's order around its claims, at its own times (single replicas, earned quotas, claims anywhere)", async () => {
      const batched = await fresh('earned');
      const single = await fresh('earned');
      let run = 100;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.integer({ min: 1, max: 3 }), { minLength: VOLUNTEERS, maxLength: VOLUNTEERS }),
          fc.array(fc.constantFrom('honest', 'fail', 'twice', 'none', 'claim'), { minLength: 12, maxLength: 12 }),
          fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
          async (slots, kinds, order) => {
            run += 1;
            const jobId = `batch-${run}`;
            const held = await leaseOnBoth([batched, single], run, job(jobId, { redundancy: 1, quorum: 1 }), slots);
            const ids = { next: 1000 };
            const planned: { op: (now: number) => BatchOp; key: number }[] = [];
            held.forEach(({ leaseId, volunteer }, n) => {
              const volunteerId = `b${run}-vol-${volunteer}`;
              const complete = (now: number): BatchOp => ({ verb: 'complete', request: { leaseId, volunteerId, output: HONEST, cpuMs: 400, now } });
              const key = order[n % order.length]!;
              const kind = kinds[n % kinds.length]!;
              if (kind === 'honest') planned.push({ op: complete, key });
              else if (kind === 'twice') planned.push({ op: complete, key }, { op: complete, key: key + 1 });
              else if (kind === 'fail') planned.push({ op: (now) => ({ verb: 'fail', request: { leaseId, volunteerId, kind: 'trap', message: 'boom', now } }), key });
              else if (kind === 'claim') planned.push({ op: complete, key }, { op: (now) => ({ verb: 'claim', request: claimRequest(run, volunteer, 2, now, ids) }), key: key - 1 });
            });
            // Each operation at its own time, later ones later, as they would arrive.
            const ops = planned.sort((a, b) => a.key - b.key).map((entry, n) => entry.op(1500 + n * 10));

            await expectSameAsOneByOne(batched, single, ops, () => (ids.next = 1000), jobId, run);
            // One job at a time: with two, a claim's pick between them follows live leases that
            // other volunteers' results (concurrent, so in either order) change.
            for (const store of [batched, single]) await store.cancelJob(jobId, 9000);
          },
        ),
        { numRuns: 30 },
      );
    });

    it("a batch of a job's last results completes it, every task in its own place of the completion order (past 64 at once)", async () => {
      const store = await fresh();
      const TASKS = 100;
      await store.createJob({ ...job('last', { redundancy: 1, quorum: 1 }), inputs: Array.from({ length: TASKS }, (_, i) => Uint8Array.of(i)) });
      const ids = { next: 0 };
      const leases = [
        ...(await store.claimTasks(claimRequest(0, 0, 50, 1000, ids))).leases.map((lease) => ({ lease, volunteer: 0 })),
        ...(await store.claimTasks(claimRequest(0, 1, 50, 1000, ids))).leases.map((lease) => ({ lease, volunteer: 1 })),
      ];
      expect(leases).toHaveLength(TASKS);
      const results = await store.answerBatch(
        leases.map(({ lease, volunteer }) => ({ verb: 'complete', request: { leaseId: lease.leaseId, volunteerId: `b0-vol-${volunteer}`, output: Uint8Array.of(lease.index * 3), cpuMs: 2, now: 1200 } })),
      );
      expect(results.map((result) => result.verb === 'complete' && result.effects.outcome)).toEqual(Array(TASKS).fill('accepted'));
      const status = await store.getJob('last');
      expect(status?.state).toBe('completed');
      expect(status?.counts.completed).toBe(TASKS);
      const settled = await store.listSettled('last', 0, TASKS + 1);
      expect(settled.map((line) => line.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: TASKS }, (_, n) => n + 1));
      expect(settled.map((line) => [line.index, [...(line.output ?? [])]]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual(
        Array.from({ length: TASKS }, (_, n) => [n, [(n * 3) & 255]]),
      );
      const first = await store.getVolunteer('b0-vol-0');
      expect(first?.unchecked).toBe(50);
    });
  });
}

/**
 * The Store contract for failure evidence (the per-address rule of `scheduler/task-evidence.ts`),
 * as one vitest suite per dialect beside `store.contract.ts`: the attack of many throwaway ids on
 * one address, repeated, cannot fail a job that a volunteer elsewhere works on; a task that really
 * traps still fails after exactly `maxAttempts` attempts on a one-address grid, and at once on
 * failures from distinct addresses.
 */
import { describe, expect, it } from 'vitest';
import type { ClaimedLease, Store } from './store.ts';
import { closedAfterEach, plainJob } from './contract-support.ts';

const MODULE = 'd'.repeat(64);
const ATTACKER = '203.0.113.7';
const HONEST = '198.51.100.1';

/** Registers the evidence contract tests under `name`; `open` returns a fresh, migrated store. */
export function describeEvidenceContract(name: string, open: () => Promise<Store>): void {
  describe(`Store evidence contract: ${name}`, () => {
    const openStore = closedAfterEach(open);
    let leaseCounter = 0;
    const newLeaseId = (): string => `evidence-lease-${++leaseCounter}`;

    async function withJob(id: string, tasks: number, maxAttempts = 3): Promise<Store> {
      const store = await openStore();
      await store.saveModule({ hash: MODULE, abi: 'bytes', size: 3, bytes: Uint8Array.of(0, 97, 115), createdAt: 1 });
      await store.createJob({ ...plainJob(id, MODULE), maxAttempts, deadlineMs: 60_000, inputs: Array.from({ length: tasks }, (_, i) => Uint8Array.of(i)) });
      return store;
    }

    const claim = async (store: Store, volunteerId: string, address: string | undefined, slots: number, now: number): Promise<ClaimedLease[]> =>
      (await store.claimTasks({ volunteerId, sessionId: `${volunteerId}-session`, siteKey: 'site-1', ...(address ? { address } : {}), slots, now, newLeaseId, random: () => 0.5 })).leases;

    const trap = (store: Store, lease: ClaimedLease, volunteerId: string, now: number) =>
      store.failLease({ leaseId: lease.leaseId, volunteerId, kind: 'trap', message: 'unreachable', now });

    it('200 fresh ids from one address, each leasing and reporting `trap`, cannot fail a job an honest volunteer elsewhere works on', async () => {
      const tasks = 10;
      const maxAttempts = 3;
      const store = await withJob('attacked', tasks, maxAttempts);
      const honest = await claim(store, 'honest', HONEST, 1, 1_000);
      expect(honest).toHaveLength(1);

      let now = 1_000;
      let reported = 0;
      // Every throwaway id takes a task and reports a trap for it: a task reopens after each, so
      // every open task is failed about 200 / 9 times, far more than maxAttempts.
      for (let id = 0; id < 200; id++) {
        const volunteerId = `throwaway-${id}`;
        for (const lease of await claim(store, volunteerId, ATTACKER, 1, ++now)) {
          expect(await trap(store, lease, volunteerId, ++now)).toMatchObject({ outcome: 'recorded' });
          reported++;
        }
      }
      expect(reported).toBe(200);
      expect((await store.getJob('attacked'))?.counts).toMatchObject({ failed: 0 });

      // The honest volunteer finishes the job: every task completes.
      const held = [...honest];
      for (let guard = 0; held.length > 0 && guard < tasks + 5; guard++) {
        const lease = held.pop()!;
        expect(await store.completeLease({ leaseId: lease.leaseId, volunteerId: 'honest', output: Uint8Array.of(lease.index + 1), cpuMs: 1, now: ++now })).toMatchObject({ outcome: 'accepted' });
        held.push(...(await claim(store, 'honest', HONEST, 1, ++now)));
      }
      const status = await store.getJob('attacked');
      expect(status?.state).toBe('completed');
      expect(status?.counts).toMatchObject({ total: tasks, completed: tasks, failed: 0 });
    }, 60_000);

    it('one address alone is the whole grid: a task that traps fails after exactly maxAttempts', async () => {
      const store = await withJob('local', 1);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [lease] = await claim(store, 'local-volunteer', '127.0.0.1', 1, 1_000 + attempt * 10);
        expect(lease, `attempt ${attempt}`).toBeDefined();
        await trap(store, lease!, 'local-volunteer', 1_001 + attempt * 10);
      }
      const [line] = await store.listResults('local', 0, 1);
      expect(line?.state).toBe('failed');
      expect(line?.errors?.map((e) => [e.attempt, e.kind])).toEqual([[1, 'trap'], [2, 'trap'], [3, 'trap']]);
      expect((await store.getJob('local'))?.state).toBe('completed');
    });

    it('failures from distinct addresses fail a task at maxAttempts while other volunteers work on the job', async () => {
      const store = await withJob('spread', 2);
      expect(await claim(store, 'bystander', HONEST, 1, 1_000)).toHaveLength(1);
      for (const [i, address] of ['10.0.0.1', '10.0.0.2', '2001:db8:1:2::/64'].entries()) {
        const [lease] = await claim(store, `volunteer-${i}`, address, 1, 1_100 + i * 10);
        await trap(store, lease!, `volunteer-${i}`, 1_101 + i * 10);
      }
      expect((await store.listResults('spread', 0, 2)).map((line) => line.state)).toEqual(['running', 'failed']);
    });

    it('throwaway ids that vanish with a task (crashes) cannot fail it either', async () => {
      const store = await withJob('vanishing', 2, 2);
      expect(await claim(store, 'honest', HONEST, 1, 1_000)).toHaveLength(1);
      let now = 1_000;
      for (let id = 0; id < 12; id++) {
        const volunteerId = `vanisher-${id}`;
        expect(await claim(store, volunteerId, ATTACKER, 1, ++now)).toHaveLength(1);
        await store.releaseSession(`${volunteerId}-session`, ++now, 'vanished');
      }
      const [, line] = await store.listResults('vanishing', 0, 2);
      expect(line?.state).toBe('pending');
      expect(line?.errors?.filter((e) => e.kind === 'crash').length).toBeGreaterThanOrEqual(2);
    });
  });
}

/**
 * The Store contract suites on PostgreSQL: one throwaway cluster for this file, and a fresh
 * database per store (cloned from a template migrated once).
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { plainJob, type ContractStoreOptions } from './contract-support.ts';
import { openPostgresStore } from './postgres.ts';
import { databaseCloner, startThrowawayPostgres, type DatabaseCloner, type ThrowawayPostgres } from './postgres-testing.ts';
import { describeStoreContract } from './store.contract.ts';
import { describeReplicaContract } from './store.replicas.contract.ts';
import { describeAccountsContract } from './store.accounts.contract.ts';
import { describeStreamingContract } from './store.streaming.contract.ts';
import type { Store } from './store.ts';

type StoreOptions = ContractStoreOptions;

let cluster: ThrowawayPostgres | undefined;
let cloner: DatabaseCloner | undefined;

beforeAll(async () => {
  cluster = await startThrowawayPostgres({ fsyncOff: true });
  cloner = await databaseCloner(cluster.url, async (url) => (await openPostgresStore({ url, poolSize: 1 })).close());
}, 30_000);

afterEach(async () => {
  await cloner?.dropAll();
});

afterAll(async () => {
  await cloner?.close();
  await cluster?.stop();
});

async function freshStore(options: StoreOptions = {}): Promise<Store> {
  if (!cloner) throw new Error('the throwaway cluster did not start');
  return openPostgresStore({ url: await cloner.clone(), poolSize: 2, ...options });
}

describeStoreContract('postgres', freshStore);
describeReplicaContract('postgres', freshStore);
describeAccountsContract('postgres', freshStore);
describeStreamingContract('postgres', freshStore);

describe('PostgreSQL store: two nodes on one database', () => {
  const MODULE = 'c'.repeat(64);
  /** Tasks per job: one job of single replicas, one of two agreeing replicas. */
  const TASKS = 60;
  const VOLUNTEERS = 6;

  it('never leases a replica twice, accepts every result once, and keeps volunteer counters exact', async () => {
    if (!cloner) throw new Error('the throwaway cluster did not start');
    const url = await cloner.clone();
    const nodes = [await openPostgresStore({ url, poolSize: 4 }), await openPostgresStore({ url, poolSize: 4 })];
    try {
      await nodes[0]!.saveModule({ hash: MODULE, abi: 'bytes', size: 1, bytes: new Uint8Array([1]), createdAt: 1 });
      const inputs = Array.from({ length: TASKS }, (_, i) => new Uint8Array([i]));
      // `single`: each result accepted alone (the volunteer's `unchecked` counter moves);
      // `pair`: two agreeing replicas, judged together (`valid` moves for both volunteers).
      await nodes[1]!.createJob({ ...plainJob('single', MODULE), deadlineMs: 600_000, inputs });
      await nodes[1]!.createJob({ ...plainJob('pair', MODULE), redundancy: 2, quorum: 2, adaptiveReplication: false, deadlineMs: 600_000, inputs });

      let leaseNumber = 0;
      let clock = 1_000;
      const anyNode = () => nodes[Math.floor(Math.random() * nodes.length)]!;
      const outcomes = new Map<string, string[]>();
      const accepted = new Map<string, number>();
      const tally = (key: string) => accepted.set(key, (accepted.get(key) ?? 0) + 1);

      // One session per volunteer per node, all running at once: a volunteer's two sessions claim
      // on different nodes concurrently, and some results are sent to both nodes at the same time.
      async function session(volunteerId: string, store: Store): Promise<void> {
        for (let idle = 0; idle < 3; ) {
          const { leases } = await store.claimTasks({
            volunteerId, sessionId: `${volunteerId}@${nodes.indexOf(store)}`, siteKey: 'site', slots: 3,
            now: ++clock, newLeaseId: () => `L${++leaseNumber}`, random: Math.random,
          });
          if (leases.length === 0) {
            idle++;
            await new Promise((resolve) => setTimeout(resolve, 20));
            continue;
          }
          idle = 0;
          await Promise.all(
            leases.map(async (lease) => {
              const answer = { leaseId: lease.leaseId, volunteerId, output: lease.input, cpuMs: 1, now: ++clock };
              const targets = Math.random() < 0.3 ? nodes : [anyNode()];
              const answers = await Promise.all(targets.map((target) => target.completeLease(answer)));
              outcomes.set(lease.leaseId, answers.map((a) => a.outcome).sort());
              if (answers.some((a) => a.outcome === 'accepted')) tally(`${lease.jobId}/${volunteerId}`);
            }),
          );
        }
      }
      const volunteers = Array.from({ length: VOLUNTEERS }, (_, i) => `vol-${i}`);
      await Promise.all(volunteers.flatMap((id) => nodes.map((store) => session(id, store))));

      // Every lease answered once: `accepted` alone, or `accepted` and `duplicate` when sent to both nodes.
      for (const [leaseId, seen] of outcomes) expect([['accepted'], ['accepted', 'duplicate']], leaseId).toContainEqual(seen);
      for (const id of ['single', 'pair']) {
        expect(await nodes[0]!.getJob(id)).toMatchObject({ state: 'completed', counts: { total: TASKS, completed: TASKS } });
      }

      const db = new pg.Client({ connectionString: url });
      await db.connect();
      try {
        const leases = (await db.query('select job_id, task_idx, volunteer_id, state from leases')).rows as { job_id: string; task_idx: number; volunteer_id: string; state: string }[];
        expect(leases).toHaveLength(outcomes.size);
        expect(leases).toHaveLength(TASKS * 3);
        const holders = new Map<string, string[]>();
        for (const lease of leases) {
          expect(lease.state).toBe('completed');
          const task = `${lease.job_id}:${lease.task_idx}`;
          holders.set(task, [...(holders.get(task) ?? []), lease.volunteer_id]);
        }
        // One replica per `single` task, two on distinct volunteers per `pair` task.
        expect(holders.size).toBe(TASKS * 2);
        for (const [task, on] of holders) expect({ task, replicas: new Set(on).size }).toEqual({ task, replicas: on.length });
        // Each task settled once: a job's completion order is a permutation of 1..TASKS.
        for (const id of ['single', 'pair']) {
          const seqs = (await db.query('select settled_seq from tasks where job_id = $1 order by settled_seq', [id])).rows.map((r: { settled_seq: number }) => r.settled_seq);
          expect(seqs).toEqual(Array.from({ length: TASKS }, (_, i) => i + 1));
        }
      } finally {
        await db.end();
      }
      // No lost update: each volunteer's record counts exactly the results accepted from it.
      for (const id of volunteers) {
        const record = await nodes[1]!.getVolunteer(id);
        expect({ id, unchecked: record?.unchecked ?? 0, valid: record?.valid ?? 0, errors: record?.errors ?? 0 }).toEqual({
          id,
          unchecked: accepted.get(`single/${id}`) ?? 0,
          valid: accepted.get(`pair/${id}`) ?? 0,
          errors: 0,
        });
      }
    } finally {
      await Promise.all(nodes.map((store) => store.close()));
    }
  }, 60_000);
});

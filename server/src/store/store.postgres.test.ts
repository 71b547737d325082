/**
 * The Store contract suites on PostgreSQL: one throwaway cluster for this file, and an empty
 * database per store (cloned from a template migrated once, emptied and reused once closed).
 */
import { PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { plainJob, type ContractStoreOptions } from './contract-support.ts';
import { openPostgresStore } from './postgres.ts';
import { RetryingKysely, withRetries } from './postgres-retry.ts';
import { databaseCloner, startThrowawayPostgres, type DatabaseCloner, type ThrowawayPostgres } from './postgres-testing.ts';
import { describeStoreContract } from './store.contract.ts';
import { describeReplicaContract } from './store.replicas.contract.ts';
import { describeAccountsContract } from './store.accounts.contract.ts';
import { describeStreamingContract } from './store.streaming.contract.ts';
import { describeEvidenceContract } from './store.evidence.contract.ts';
import { describeBatchContract } from './store.batch.contract.ts';
import type { Store } from './store.ts';

// Every statement here is a round trip to another process: on a loaded 2-core machine the
// contract's property tests (hundreds of verbs) take several times longer than on in-process SQLite.
vi.setConfig({ testTimeout: 60_000 });

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

/** A store on an empty database, which is emptied again and lent to a later test once the store closes. */
async function freshStore(options: ContractStoreOptions = {}): Promise<Store> {
  if (!cloner) throw new Error('the throwaway cluster did not start');
  const loan = await cloner.lend();
  const store = await openPostgresStore({ url: loan.url, poolSize: 2, ...options });
  return {
    ...store,
    async close() {
      await store.close();
      await loan.giveBack();
    },
  };
}

describeStoreContract('postgres', freshStore);
describeReplicaContract('postgres', freshStore);
describeAccountsContract('postgres', freshStore);
describeStreamingContract('postgres', freshStore);
describeEvidenceContract('postgres', () => freshStore());
describeBatchContract('postgres', freshStore);

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

describe('PostgreSQL transactions retried', () => {
  it('runs again the transaction PostgreSQL aborted to break a deadlock, so both sides commit', async () => {
    if (!cloner) throw new Error('the throwaway cluster did not start');
    const db = new RetryingKysely<{ counters: { id: number; n: number } }>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: await cloner.clone(), max: 2 }) }) });
    try {
      await sql`create table counters (id integer primary key, n integer not null)`.execute(db);
      await db.insertInto('counters').values([{ id: 1, n: 0 }, { id: 2, n: 0 }]).execute();
      // Each transaction takes one row, waits until the other holds its row, then wants the other row.
      let runs = 0;
      const holding: Array<() => void> = [];
      const bothHold = Promise.all([0, 1].map((i) => new Promise<void>((resolve) => (holding[i] = resolve))));
      const crossing = (first: number, second: number, i: number) =>
        db.transaction().execute(async (trx) => {
          runs++;
          await trx.updateTable('counters').set((eb) => ({ n: eb('n', '+', 1) })).where('id', '=', first).execute();
          holding[i]!();
          await bothHold;
          await trx.updateTable('counters').set((eb) => ({ n: eb('n', '+', 1) })).where('id', '=', second).execute();
        });
      await Promise.all([crossing(1, 2, 0), crossing(2, 1, 1)]);
      // One of the two was chosen as the deadlock's victim and ran a second time.
      expect(runs).toBe(3);
      expect(await db.selectFrom('counters').selectAll().orderBy('id').execute()).toEqual([{ id: 1, n: 2 }, { id: 2, n: 2 }]);
    } finally {
      await db.destroy();
    }
  });

  it('gives up after the policy\'s tries, and never retries other errors', async () => {
    let tries = 0;
    const serialization = Object.assign(new Error('could not serialize access'), { code: '40001' });
    await expect(withRetries({ attempts: 3, baseDelayMs: 1 }, async () => {
      tries++;
      throw serialization;
    })).rejects.toBe(serialization);
    expect(tries).toBe(3);
    tries = 0;
    const unique = Object.assign(new Error('duplicate key'), { code: '23505' });
    await expect(withRetries({ attempts: 3, baseDelayMs: 1 }, async () => {
      tries++;
      throw unique;
    })).rejects.toBe(unique);
    expect(tries).toBe(1);
  });
});

describe('throwaway PostgreSQL', () => {
  it('names the package to install when PostgreSQL is missing', async () => {
    await expect(startThrowawayPostgres({ pgbin: '/nonexistent/postgresql/bin' })).rejects.toThrow(/apt-get install postgresql.*SPARECYCLES_PGBIN/);
  });

  it('serves its database on loopback until stopped, then refuses connections', async () => {
    const throwaway = await startThrowawayPostgres();
    expect(throwaway.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/sparecycles$/);
    const client = new pg.Client({ connectionString: throwaway.url });
    await client.connect();
    expect((await client.query('show fsync')).rows).toEqual([{ fsync: 'on' }]);
    await client.end();
    await throwaway.stop();
    await throwaway.stop();
    await expect(new pg.Client({ connectionString: throwaway.url }).connect()).rejects.toThrow(/ECONNREFUSED/);
  });
});

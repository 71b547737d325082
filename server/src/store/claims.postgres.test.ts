/**
 * Claims on a real PostgreSQL (a throwaway cluster): every job's candidate tasks are picked in one
 * statement whose per-job subqueries lock with `FOR UPDATE SKIP LOCKED`, so claims racing on
 * several connections (as several nodes would) never lease one task twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOMY_QUOTA, plainJob } from './contract-support.ts';
import { openPostgresStore } from './postgres.ts';
import { startThrowawayPostgres, type ThrowawayPostgres } from './postgres-testing.ts';
import type { Store } from './store.ts';

const MODULE = 'c'.repeat(64);

describe('claims on PostgreSQL', () => {
  let cluster: ThrowawayPostgres;
  let store: Store;

  beforeAll(async () => {
    cluster = await startThrowawayPostgres({ fsyncOff: true });
    store = await openPostgresStore({ url: cluster.url, poolSize: 8, quota: ROOMY_QUOTA });
    await store.saveModule({ hash: MODULE, abi: 'bytes', size: 1, bytes: new Uint8Array([0]), createdAt: 1 });
  }, 60_000);

  afterAll(async () => {
    await store?.close();
    await cluster?.stop();
  });

  let next = 0;
  const claim = (volunteerId: string, slots: number, now = 1000) =>
    store.claimTasks({ volunteerId, sessionId: `s-${volunteerId}`, siteKey: 'site', slots, now, newLeaseId: () => `pg-lease-${++next}`, random: () => 0.5 });

  it('picks from several jobs in one claim and says why an empty one is empty', async () => {
    await store.createJob({ ...plainJob('pg-a', MODULE), priority: 1, inputs: [Uint8Array.of(1), Uint8Array.of(2)] });
    await store.createJob({ ...plainJob('pg-b', MODULE), priority: 1, createdAt: 2, inputs: [Uint8Array.of(3), Uint8Array.of(4)] });
    const first = await claim('pg-v1', 4);
    expect(first.leases.map((l) => l.taskId).sort()).toEqual(['pg-a:0', 'pg-a:1', 'pg-b:0', 'pg-b:1']);
    expect(first.leases.map((l) => Array.from(l.input)).sort()).toEqual([[1], [2], [3], [4]]);
    expect(await claim('pg-v2', 4)).toEqual({ leases: [], empty: { reason: 'no_work' } });
    for (const id of ['pg-a', 'pg-b']) await store.cancelJob(id, 1100);
  });

  it('claims racing on several connections never lease one task twice', async () => {
    const tasks = 60;
    await store.createJob({ ...plainJob('pg-race', MODULE), inputs: Array.from({ length: tasks }, (_, i) => Uint8Array.of(i)) });
    const volunteers = Array.from({ length: 12 }, (_, i) => `pg-racer-${i}`);
    const taken: string[] = [];
    for (let round = 0; round < 3; round++) {
      const outcomes = await Promise.all(volunteers.map((v) => claim(v, 2)));
      for (const outcome of outcomes) taken.push(...outcome.leases.map((l) => l.taskId));
    }
    expect(new Set(taken).size).toBe(taken.length);
    expect(taken.length).toBe(tasks);
    expect((await store.getJob('pg-race'))?.counts).toMatchObject({ pending: 0, running: tasks });
  });
});

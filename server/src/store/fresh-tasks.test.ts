/**
 * The fresh-task pool against a model of a job's tasks: whatever the claims, reopened tasks,
 * appended inputs and rolled-back claims, every answer it gives is the database pick's answer, and
 * it reads the database once per refill, not per claim.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFreshTaskPool, POOL_BYTES, STUCK_CLAIMS, type FreshTaskRow, type ReadPending } from './fresh-tasks.ts';

interface ModelTask {
  state: 'pending' | 'running';
  attempts: number;
  inputBytes: number;
}

/** A job's tasks, the reads the pool made of them, and the database's own pick. */
function model(count: number, inputBytes = 2) {
  const tasks: ModelTask[] = Array.from({ length: count }, () => ({ state: 'pending', attempts: 0, inputBytes }));
  let reads = 0;
  const rowOf = (idx: number): FreshTaskRow => ({
    job_id: 'job',
    idx,
    input: new Uint8Array(tasks[idx]!.inputBytes),
    live: tasks[idx]!.state === 'running' ? 1 : 0,
    results: 0,
    wanted: 1,
    needed: 1,
    attempts: tasks[idx]!.attempts,
    errors: null,
    failures: 0,
    releases: 0,
  });
  const pending = (from: number, below: number) =>
    tasks.flatMap((task, idx) => (task.state === 'pending' && idx >= from && idx < below ? [idx] : []));
  const read: ReadPending = async (_jobId, from, below, limit) => {
    reads++;
    return pending(from, below).slice(0, limit).map(rowOf);
  };
  return {
    tasks,
    read,
    reads: () => reads,
    pick: (taskCount: number, limit: number) => pending(0, taskCount).slice(0, limit),
    take(idxs: readonly number[]) {
      for (const idx of idxs) {
        tasks[idx]!.state = 'running';
        tasks[idx]!.attempts++;
      }
    },
  };
}

/** One claim answered by the pool (which must vouch): the tasks it took, taken in the model too. */
async function claimFromPool(pool: ReturnType<typeof createFreshTaskPool>, job: ReturnType<typeof model>, taskCount: number, limit: number): Promise<number[]> {
  const idxs = (await pool.candidates('job', taskCount, limit, job.read))!.map((row) => row.idx);
  job.take(idxs);
  pool.taken('job', idxs, false);
  return idxs;
}

describe('fresh-task pool', () => {
  it('offers the first fresh tasks in index order, and reads once per refill, not once per claim', async () => {
    const job = model(1000);
    const pool = createFreshTaskPool();
    const offered: number[] = [];
    for (let claim = 0; claim < 60; claim++) {
      const expected = job.pick(1000, 8);
      const idxs = await claimFromPool(pool, job, 1000, 8);
      expect(idxs).toEqual(expected);
      offered.push(...idxs);
    }
    expect(offered).toEqual(Array.from({ length: 480 }, (_, i) => i));
    // The first read takes what the first claim needs; each later one up to 128 rows.
    expect(job.reads()).toBeLessThanOrEqual(1 + Math.ceil(472 / 128));
  });

  it('hands a job with a task open again and not fresh to the database for a while, then reads afresh', async () => {
    const job = model(100);
    const pool = createFreshTaskPool();
    await claimFromPool(pool, job, 100, 4);
    // Task 1 failed and is open again, its attempt counted: the pool is told, and cannot vouch.
    job.tasks[1]!.state = 'pending';
    pool.forget('job');
    expect(await pool.candidates('job', 100, 4, job.read)).toBeUndefined();
    const reads = job.reads();
    for (let claim = 0; claim < STUCK_CLAIMS; claim++) expect(await pool.candidates('job', 100, 4, job.read)).toBeUndefined();
    expect(job.reads()).toBe(reads);
    // The database's claims took task 1 meanwhile; after its stuck claims the pool reads afresh.
    job.take([1]);
    expect((await pool.candidates('job', 100, 4, job.read))!.map((row) => row.idx)).toEqual([4, 5, 6, 7]);
  });

  it('offers a task released back to fresh (its attempt not counted) first, once told', async () => {
    const job = model(100);
    const pool = createFreshTaskPool();
    await claimFromPool(pool, job, 100, 4);
    job.tasks[2]!.state = 'pending';
    job.tasks[2]!.attempts = 0;
    pool.forget('job');
    expect((await pool.candidates('job', 100, 4, job.read))!.map((row) => row.idx)).toEqual([2, 4, 5, 6]);
  });

  it('stops vouching for a job whose claim left a task wanting more replicas', async () => {
    const job = model(50);
    const pool = createFreshTaskPool();
    const rows = (await pool.candidates('job', 50, 2, job.read))!;
    pool.taken('job', rows.map((row) => row.idx), true);
    expect(await pool.candidates('job', 50, 2, job.read)).toBeUndefined();
  });

  it('offers no task at or past the job task count, and the tasks appended later in order', async () => {
    const job = model(20);
    const pool = createFreshTaskPool();
    const rows = (await pool.candidates('job', 3, 8, job.read))!;
    expect(rows.map((row) => row.idx)).toEqual([0, 1, 2]);
    job.take([0, 1, 2]);
    pool.taken('job', [0, 1, 2], false);
    expect(await pool.candidates('job', 3, 8, job.read)).toEqual([]);
    expect((await pool.candidates('job', 6, 8, job.read))!.map((row) => row.idx)).toEqual([3, 4, 5]);
  });

  it('holds no more than its byte bound of inputs', async () => {
    const big = Math.floor(POOL_BYTES / 10);
    const job = model(200, big);
    const pool = createFreshTaskPool();
    const seen: number[] = [];
    const read: ReadPending = async (jobId, from, below, limit) => {
      const rows = await job.read(jobId, from, below, limit);
      seen.push(rows.length);
      return rows;
    };
    let answered = 0;
    for (let claim = 0; claim < 10; claim++) {
      const rows = await pool.candidates('job', 200, 2, read);
      if (!rows) continue;
      answered++;
      job.take(rows.map((row) => row.idx));
      pool.taken('job', rows.map((row) => row.idx), false);
    }
    // Bounded, and still answering: the budget is not taken for a job it cannot vouch for.
    expect(answered).toBe(10);
    expect(Math.max(...seen) * big).toBeLessThanOrEqual(POOL_BYTES);
  });

  it('gives the database pick answer under any sequence of claims, reopened tasks, appends and rollbacks', async () => {
    const step = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('claim' as const), limit: fc.integer({ min: 1, max: 9 }), take: fc.integer({ min: 0, max: 9 }), leftPending: fc.integer({ min: 0, max: 19 }).map((n) => n === 0) }), weight: 8 },
      { arbitrary: fc.record({ kind: fc.constant('reopen' as const), at: fc.nat(), counted: fc.boolean() }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('skip' as const), limit: fc.integer({ min: 2, max: 9 }) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 40 }) }), weight: 1 },
      { arbitrary: fc.record({ kind: fc.constant('rollback' as const), limit: fc.integer({ min: 1, max: 9 }) }), weight: 1 },
    );
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 300 }), fc.array(step, { maxLength: 80 }), async (initial, steps) => {
        const job = model(initial + 40 * 80);
        const pool = createFreshTaskPool();
        let taskCount = initial;
        for (const s of steps) {
          if (s.kind === 'claim' || s.kind === 'rollback') {
            const rows = await pool.candidates('job', taskCount, s.limit, job.read);
            const expected = job.pick(taskCount, s.limit);
            if (rows) {
              expect(rows.map((row) => row.idx)).toEqual(expected);
              answered++;
            }
            if (s.kind === 'rollback') {
              // The claim took its tasks, then its transaction rolled back: they are pending still.
              if (rows && rows.length > 0) pool.taken('job', rows.map((row) => row.idx), false);
              pool.clear();
              continue;
            }
            const idxs = expected.slice(0, s.take);
            job.take(idxs);
            // A task left wanting replicas stays pending (and is no longer fresh).
            if (s.leftPending && idxs.length > 0) job.tasks[idxs[0]!]!.state = 'pending';
            if (idxs.length > 0) pool.taken('job', idxs, s.leftPending);
          } else if (s.kind === 'reopen') {
            const running = job.tasks.flatMap((task, idx) => (task.state === 'running' ? [idx] : []));
            if (running.length === 0) continue;
            const task = job.tasks[running[s.at % running.length]!]!;
            task.state = 'pending';
            // A release back to fresh does not count its attempt; a failure does.
            if (!s.counted) task.attempts = 0;
            pool.forget('job');
          } else if (s.kind === 'skip') {
            // A claim that takes a task but not the first one offered (the plan always takes a
            // prefix today; the pool must not trust that).
            const rows = await pool.candidates('job', taskCount, s.limit, job.read);
            const expected = job.pick(taskCount, s.limit);
            if (rows) expect(rows.map((row) => row.idx)).toEqual(expected);
            if (expected.length < 2) continue;
            job.take([expected[1]!]);
            pool.taken('job', [expected[1]!], false);
          } else {
            taskCount += s.count;
          }
        }
      }),
      { numRuns: 300 },
    );
    // Not a pool that never answers (which would pass the check above trivially).
    expect(answered).toBeGreaterThan(500);
  });
});

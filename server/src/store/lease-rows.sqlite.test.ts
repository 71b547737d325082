/**
 * Grants kept unwritten (`granted-leases.ts`, `lease-rows.ts`) on a real SQLite file, read back
 * from the file by a connection of its own: a lone result writes its lease's row once, whole; a
 * store closed writes the rest as live leases; a process killed with one unwritten leaves its task
 * pending again at the next start, and nothing else; a rolled-back batch gives back what it took.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from './sqlite.ts';
import { sqliteStoresWithJob } from './sqlite-testing.ts';
import type { BatchOp, BatchResult, ClaimRequest, Store } from './store.ts';

const openStoreWithJob = sqliteStoresWithJob();
/** A store on a new file with one job of 4 tasks at r = 1; `file` to read it back. */
const storeWithJob = (): Promise<{ store: Store; file: string }> => openStoreWithJob({ tasks: 4, deadlineMs: 60_000 });

const claim = (volunteerId: string, leaseId: string): ClaimRequest => ({
  volunteerId,
  sessionId: `session-${volunteerId}`,
  siteKey: 'site',
  address: '192.0.2.1',
  slots: 1,
  now: 1000,
  newLeaseId: () => leaseId,
  random: () => 0.5,
});

const result = (volunteerId: string, leaseId: string, output: number, now = 1400): BatchOp => ({
  verb: 'complete',
  request: { leaseId, volunteerId, output: new Uint8Array([output]), cpuMs: 100, now },
});

const outcomes = (results: BatchResult[]) => results.map((r) => (r.verb === 'complete' ? r.effects.outcome : r.verb === 'fail' ? r.effects.outcome : r.outcome.leases.map((l) => l.index)));

/** Rows of the file as a second connection reads them. */
function read<T>(file: string, query: string): T[] {
  const raw = new Database(file, { readonly: true });
  try {
    return raw.prepare(query).all() as T[];
  } finally {
    raw.close();
  }
}

describe('a grant kept unwritten', () => {
  it('has no row until its lone result writes it once, whole and ended', async () => {
    const { store, file } = await storeWithJob();
    try {
      expect(outcomes(await store.answerBatch([{ verb: 'claim', request: claim('v', 'lease-1') }]))).toEqual([[0]]);
      expect(read(file, 'select id from leases')).toEqual([]);
      expect(read(file, 'select state, live, attempts from tasks where idx = 0')).toEqual([{ state: 'running', live: 1, attempts: 1 }]);
      expect(outcomes(await store.answerBatch([result('v', 'lease-1', 42)]))).toEqual(['accepted']);
      expect(read(file, 'select * from leases')).toEqual([
        {
          id: 'lease-1', job_id: 'job', task_idx: 0, volunteer_id: 'v', session_id: 'session-v', site_key: 'site', state: 'completed',
          issued_at: 1000, deadline: expect.any(Number), ended_at: 1400, cpu_ms: 100,
          output_hash: createHash('sha256').update(Uint8Array.of(42)).digest('hex'),
          error_kind: null, error_message: null, output: null, verdict: 'unchecked', address: '192.0.2.1',
        },
      ]);
      expect((await store.getJob('job'))?.counts.completed).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('stays unwritten through stale answers, and is written before the one-by-one path ends a written lease', async () => {
    const { store, file } = await storeWithJob();
    try {
      await store.answerBatch([{ verb: 'claim', request: claim('w', 'lease-2') }]);
      // A verb that reads leases writes lease-2; lease-1 comes after it, unwritten.
      await store.deferDeadlines([], 0);
      await store.answerBatch([{ verb: 'claim', request: claim('v', 'lease-1') }]);
      // A result and a failure report for leases that do not exist.
      const madeUp: BatchOp = { verb: 'fail', request: { leaseId: 'made-up-too', volunteerId: 'v', kind: 'trap', message: 'boom', now: 1200 } };
      expect(outcomes(await store.answerBatch([result('v', 'made-up', 1), madeUp]))).toEqual(['stale', 'stale']);
      expect(read(file, 'select id from leases')).toEqual([{ id: 'lease-2' }]);
      // `w` reports lease-2 failed: the one-by-one path ends it, with every grant written first.
      const failed: BatchOp = { verb: 'fail', request: { leaseId: 'lease-2', volunteerId: 'w', kind: 'trap', message: 'boom', now: 1300 } };
      expect(outcomes(await store.answerBatch([failed]))).toEqual(['recorded']);
      expect(read(file, 'select id, state from leases order by id')).toEqual([
        { id: 'lease-1', state: 'active' },
        { id: 'lease-2', state: 'failed' },
      ]);
      expect(outcomes(await store.answerBatch([result('v', 'lease-1', 42)]))).toEqual(['accepted']);
    } finally {
      await store.close();
    }
  });

  it('answered alone writes its own row and no other', async () => {
    const { store, file } = await storeWithJob();
    try {
      await store.answerBatch([{ verb: 'claim', request: claim('v', 'lease-1') }, { verb: 'claim', request: claim('w', 'lease-2') }]);
      const effects = await store.completeLease({ leaseId: 'lease-1', volunteerId: 'v', output: Uint8Array.of(42), cpuMs: 100, now: 1400 });
      expect(effects.outcome).toBe('accepted');
      expect(read(file, 'select id, state from leases')).toEqual([{ id: 'lease-1', state: 'completed' }]);
      expect((await store.completeLease({ leaseId: 'lease-1', volunteerId: 'v', output: Uint8Array.of(42), cpuMs: 100, now: 1500 })).outcome).toBe('duplicate');
      expect((await store.completeLease({ leaseId: 'lease-2', volunteerId: 'w', output: Uint8Array.of(43), cpuMs: 100, now: 1500 })).outcome).toBe('accepted');
    } finally {
      await store.close();
    }
  });

  it("counts in its job's share of live leases when two jobs compete", async () => {
    const { store } = await storeWithJob();
    try {
      await store.createJob({
        id: 'later', moduleHash: 'e'.repeat(64), redundancy: 1, quorum: 1, deadlineMs: 60_000, maxAttempts: 3, priority: 1, createdAt: 2,
        inputs: Array.from({ length: 4 }, (_, i) => new Uint8Array([i])),
      });
      // Each claim goes to the job with fewer live leases: unwritten ones count.
      const jobs: string[] = [];
      for (const volunteer of ['a', 'b', 'c', 'd']) {
        const [only] = await store.answerBatch([{ verb: 'claim', request: claim(volunteer, `lease-${volunteer}`) }]);
        if (only?.verb === 'claim') jobs.push(...only.outcome.leases.map((lease) => lease.jobId));
      }
      expect(jobs.sort()).toEqual(['job', 'job', 'later', 'later']);
    } finally {
      await store.close();
    }
  });

  it('is written live when the store closes, and answered after it opens again', async () => {
    const { store, file } = await storeWithJob();
    await store.answerBatch([{ verb: 'claim', request: claim('v', 'lease-1') }]);
    await store.close();
    expect(read(file, 'select id, state from leases')).toEqual([{ id: 'lease-1', state: 'active' }]);
    const reopened = await openSqliteStore({ file });
    try {
      expect(outcomes(await reopened.answerBatch([result('v', 'lease-1', 42)]))).toEqual(['accepted']);
      expect((await reopened.getJob('job'))?.counts.completed).toBe(1);
    } finally {
      await reopened.close();
    }
  });

  it('comes back when the batch that took it rolls back, and is answered later', async () => {
    const { store } = await storeWithJob();
    try {
      await store.answerBatch([{ verb: 'claim', request: claim('v', 'lease-1') }]);
      const failing: ClaimRequest = { ...claim('w', 'unused'), newLeaseId: () => { throw new Error('no lease id'); } };
      await expect(store.answerBatch([result('v', 'lease-1', 42), { verb: 'claim', request: failing }])).rejects.toThrow('no lease id');
      expect((await store.getJob('job'))?.counts.completed).toBe(0);
      expect(outcomes(await store.answerBatch([result('v', 'lease-1', 42, 1500)]))).toEqual(['accepted']);
      expect((await store.getJob('job'))?.counts.completed).toBe(1);
    } finally {
      await store.close();
    }
  });

  it("start leaves alone tasks whose live replicas all have rows (r = 2), whether they want more or not", async () => {
    const { store, file } = await storeWithJob();
    await store.cancelJob('job', 1);
    await store.createJob({
      id: 'pair', moduleHash: 'e'.repeat(64), redundancy: 2, quorum: 2, deadlineMs: 60_000, maxAttempts: 3, priority: 100, createdAt: 2,
      inputs: [Uint8Array.of(1), Uint8Array.of(2)],
    });
    for (const volunteer of ['a', 'b', 'c']) await store.answerBatch([{ verb: 'claim', request: claim(volunteer, `lease-${volunteer}`) }]);
    const tasks = () => read(file, "select idx, state, live from tasks where job_id = 'pair' order by idx");
    const before = tasks();
    expect(before).toEqual([
      { idx: 0, state: 'running', live: 2 },
      { idx: 1, state: 'pending', live: 1 },
    ]);
    await store.close();
    const reopened = await openSqliteStore({ file });
    try {
      expect(tasks()).toEqual(before);
    } finally {
      await reopened.close();
    }
  });

  it('lost with a killed process leaves its task pending again at the next start, uncounted, and nothing else', async () => {
    const { store, file } = await storeWithJob();
    await store.close();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./lease-rows.kill-child.ts', import.meta.url)), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (data: Buffer) => (data.toString().includes('ready') ? resolve() : undefined));
      child.once('exit', () => reject(new Error('the child exited before it was ready')));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(read(file, 'select id, state from leases')).toEqual([{ id: 'written', state: 'active' }]);

    const reopened = await openSqliteStore({ file });
    try {
      expect(read(file, 'select idx, state, live, attempts from tasks order by idx')).toEqual([
        { idx: 0, state: 'running', live: 1, attempts: 1 },
        { idx: 1, state: 'pending', live: 0, attempts: 0 },
        { idx: 2, state: 'pending', live: 0, attempts: 0 },
        { idx: 3, state: 'pending', live: 0, attempts: 0 },
      ]);
      // The lost grant's volunteer cannot answer it; its task goes to the next claim.
      expect(outcomes(await reopened.answerBatch([result('vu', 'unwritten', 1), { verb: 'claim', request: claim('x', 'lease-x') }]))).toEqual(['stale', [1]]);
      expect(outcomes(await reopened.answerBatch([result('vw', 'written', 0), result('x', 'lease-x', 1)]))).toEqual(['accepted', 'accepted']);
      expect((await reopened.getJob('job'))?.counts.completed).toBe(2);
    } finally {
      await reopened.close();
    }
  });

  it('belongs to one process: a second store on the same file is refused until the first closes', async () => {
    const { store, file } = await storeWithJob();
    await expect(openSqliteStore({ file })).rejects.toThrow(`another process has the SQLite database ${file} open (one coordinator per data directory)`);
    await store.close();
    const second = await openSqliteStore({ file });
    await second.close();
  });
});

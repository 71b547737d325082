/**
 * The unwritten grants' own rules: taken once, counted for their volunteer and job, never added
 * while another verb runs; a rolled-back transaction's steps undone; and every store verb not known
 * to read no lease (or to be the hot path: claims, batches and single answers, which write them by
 * themselves) is bracketed and finds every grant written first, including a verb added later.
 */
import { describe, expect, it } from 'vitest';
import { bracketWrites, createGrantedLeases, GRANTED_MAX, type Granted } from './granted-leases.ts';

const grant = (id: string, volunteer = 'v', job = 'job'): Granted => ({
  lease: {
    id, job_id: job, task_idx: 0, volunteer_id: volunteer, session_id: 's', site_key: 'site', state: 'active', issued_at: 1, deadline: 2,
    ended_at: null, cpu_ms: null, output_hash: null, error_kind: null, error_message: null, verdict: null, address: null,
  },
  task: { state: 'running', attempts: 1, errors: null, live: 1, results: 0, wanted: 1, needed: 1, failures: 0, releases: 0, redundancy: 1, quorum: 1, max_attempts: 3 },
});

const ids = (granted: readonly Granted[]) => granted.map((g) => g.lease.id).sort();

describe('unwritten grants', () => {
  it('are taken once, and counted for their volunteer and job until then', () => {
    const granted = createGrantedLeases();
    expect(granted.remember(grant('a', 'v1', 'j1'))).toBe(true);
    granted.remember(grant('b', 'v1', 'j2'));
    granted.remember(grant('c', 'v2', 'j1'));
    expect(granted.heldBy('v1').map((lease) => lease.id)).toEqual(['a', 'b']);
    expect([granted.liveOf('j1'), granted.liveOf('j2'), granted.liveOf('j3')]).toEqual([2, 1, 0]);
    expect(granted.take('a')?.lease.id).toBe('a');
    expect(granted.take('a')).toBeUndefined();
    expect(granted.heldBy('v1').map((lease) => lease.id)).toEqual(['b']);
    expect(granted.liveOf('j1')).toBe(1);
    expect(ids(granted.takeAll())).toEqual(['b', 'c']);
    expect([granted.size(), granted.heldBy('v1').length, granted.liveOf('j1')]).toEqual([0, 0, 0]);
  });

  it('are not added while another verb runs, and are still taken then (they are the only record)', () => {
    const granted = createGrantedLeases();
    granted.remember(grant('a'));
    granted.begin();
    expect(granted.remember(grant('b'))).toBe(false);
    expect(granted.take('a')?.lease.id).toBe('a');
    granted.end();
    expect(granted.remember(grant('c'))).toBe(true);
  });

  it('are refused past their bound: the claim writes the row then', () => {
    const granted = createGrantedLeases();
    for (let n = 0; n < GRANTED_MAX; n++) expect(granted.remember(grant(`g${n}`))).toBe(true);
    expect(granted.remember(grant('one-more'))).toBe(false);
    expect(granted.size()).toBe(GRANTED_MAX);
  });

  it('may exist for a queued transaction while the open one holds some it took', () => {
    const granted = createGrantedLeases();
    expect(granted.mayHoldAny()).toBe(false);
    granted.journal.begun();
    granted.remember(grant('a'));
    expect(granted.mayHoldAny()).toBe(true);
    granted.journal.committed();
    granted.journal.begun();
    granted.take('a');
    // Taken, not yet written: the open transaction may put it back or roll back.
    expect(granted.mayHoldAny()).toBe(true);
    granted.journal.committed();
    expect(granted.mayHoldAny()).toBe(false);
  });

  it('come back as they were when their transaction rolls back, newest step first', () => {
    const granted = createGrantedLeases();
    granted.journal.begun();
    granted.remember(grant('old'));
    granted.remember(grant('older'));
    granted.journal.committed();
    granted.journal.begun();
    granted.remember(grant('new'));
    granted.take('old');
    // Added, then written (with every other) in the same transaction: absent after the rollback.
    granted.takeAll();
    granted.putBack(grant('older'));
    granted.journal.rolledBack();
    expect(ids(granted.takeAll())).toEqual(['old', 'older']);
    expect(granted.liveOf('job')).toBe(0);
  });

  it('stay as a committed transaction left them', () => {
    const granted = createGrantedLeases();
    granted.journal.begun();
    granted.remember(grant('a'));
    granted.remember(grant('b'));
    granted.take('a');
    granted.journal.committed();
    granted.journal.begun();
    granted.journal.rolledBack();
    expect(ids(granted.takeAll())).toEqual(['b']);
  });

  it('are written before every verb but the reads and the hot path, a verb added later too', async () => {
    const granted = createGrantedLeases();
    const written: string[] = [];
    const flush = async () => {
      written.push(...granted.takeAll().map((g) => g.lease.id));
    };
    const seen: Record<string, boolean> = {};
    // Each verb reports whether a grant made before the call was written when it ran.
    const probe = (name: string) => async () => {
      seen[name] = written.includes(name);
    };
    const store = bracketWrites({ getJob: probe('getJob'), claimTasks: probe('claimTasks'), answerBatch: probe('answerBatch'), cancelJob: probe('cancelJob'), someFutureVerb: probe('someFutureVerb') }, granted, flush);
    for (const name of ['getJob', 'claimTasks', 'answerBatch', 'cancelJob', 'someFutureVerb']) {
      granted.remember(grant(name));
      await (store as Record<string, () => Promise<void>>)[name]!();
      granted.takeAll();
    }
    expect(seen).toEqual({ getJob: false, claimTasks: false, answerBatch: false, cancelJob: true, someFutureVerb: true });
  });

  it('end the bracket when the verb fails, or the writing before it', async () => {
    const granted = createGrantedLeases();
    const store = bracketWrites({ cancelJob: async () => Promise.reject(new Error('failed')) }, granted, async () => undefined);
    await expect(store.cancelJob()).rejects.toThrow('failed');
    expect(granted.remember(grant('a'))).toBe(true);
    const unwritable = bracketWrites({ cancelJob: async () => undefined }, granted, async () => Promise.reject(new Error('disk full')));
    await expect(unwritable.cancelJob()).rejects.toThrow('disk full');
    expect(granted.remember(grant('b'))).toBe(true);
  });
});

/**
 * The remembered grants' own rules: taken once, never while another verb runs, forgotten when it
 * ends; and every store verb not known to only read (or to be the hot path: claims, batches and
 * single answers, which forget by themselves) is bracketed, including one added later.
 */
import { describe, expect, it } from 'vitest';
import { bracketWrites, createGrantedLeases, type Granted } from './granted-leases.ts';

const grant = (id: string): Granted => ({
  lease: {
    id, job_id: 'job', task_idx: 0, volunteer_id: 'v', session_id: 's', site_key: 'site', state: 'active', issued_at: 1, deadline: 2,
    ended_at: null, cpu_ms: null, output_hash: null, error_kind: null, error_message: null, verdict: null, address: null,
  },
  task: { state: 'running', attempts: 1, errors: null, live: 1, results: 0, wanted: 1, needed: 1, failures: 0, releases: 0, redundancy: 1, quorum: 1, max_attempts: 3 },
});

describe('remembered grants', () => {
  it('are taken once', () => {
    const granted = createGrantedLeases();
    granted.remember(grant('a'));
    expect(granted.take('a')?.lease.id).toBe('a');
    expect(granted.take('a')).toBeUndefined();
  });

  it('are not used while another verb runs, and are forgotten when it ends', () => {
    const granted = createGrantedLeases();
    granted.remember(grant('a'));
    granted.remember(grant('b'));
    granted.begin();
    granted.remember(grant('c'));
    expect(granted.take('a')).toBeUndefined();
    expect(granted.take('c')).toBeUndefined();
    granted.end();
    expect(granted.take('b')).toBeUndefined();
    granted.remember(grant('d'));
    expect(granted.take('d')?.lease.id).toBe('d');
  });

  it('bracket every verb but the reads and the hot path, a verb added later too', async () => {
    const granted = createGrantedLeases();
    const seen: Record<string, boolean> = {};
    // Each verb reports whether a grant remembered before the call could still be used during it.
    const probe = (name: string) => async () => {
      seen[name] = granted.take(name) !== undefined;
    };
    const store = bracketWrites({ getJob: probe('getJob'), claimTasks: probe('claimTasks'), answerBatch: probe('answerBatch'), cancelJob: probe('cancelJob'), someFutureVerb: probe('someFutureVerb') }, granted);
    for (const name of ['getJob', 'claimTasks', 'answerBatch', 'cancelJob', 'someFutureVerb']) {
      granted.remember(grant(name));
      await (store as Record<string, () => Promise<void>>)[name]!();
    }
    expect(seen).toEqual({ getJob: true, claimTasks: true, answerBatch: true, cancelJob: false, someFutureVerb: false });
  });

  it('end the bracket when the verb fails', async () => {
    const granted = createGrantedLeases();
    const store = bracketWrites({ cancelJob: async () => Promise.reject(new Error('failed')) }, granted);
    await expect(store.cancelJob()).rejects.toThrow('failed');
    granted.remember(grant('a'));
    expect(granted.take('a')?.lease.id).toBe('a');
  });
});

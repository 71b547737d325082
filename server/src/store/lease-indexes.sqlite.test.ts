/**
 * Every statement the SQLite store runs on `leases` finds its rows through an index, never by
 * reading the whole table: the table keeps every lease ever made, and the lookups of live leases
 * (by session, deadline, volunteer, job) go through partial indexes that a query can use only if it
 * names the state as a literal (migration 000013). A `state = ?` slipped into one of them would
 * still return the right rows, only by reading every lease of the job or the volunteer, or the
 * whole table, so this reads each statement's query plan.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, expect, it, vi } from 'vitest';
import { openSqliteStore } from './sqlite.ts';
import type { BatchOp, ClaimRequest, ClaimedLease, NewJob, Store } from './store.ts';

const MODULE = 'd'.repeat(64);
const dirs: string[] = [];

afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function job(id: string, overrides: Partial<NewJob> = {}): NewJob {
  const inputs = Array.from({ length: 6 }, (_, i) => Uint8Array.of(i));
  return { id, moduleHash: MODULE, redundancy: 1, quorum: 1, deadlineMs: 1000, maxAttempts: 3, priority: 1, createdAt: 100, inputs, ...overrides };
}

let leases = 0;
const claimRequest = (volunteerId: string, slots: number, now: number, sessionId = volunteerId): ClaimRequest => ({
  volunteerId,
  sessionId,
  siteKey: 'site-1',
  slots,
  now,
  newLeaseId: () => `lease-${++leases}`,
  random: () => 0.999_999,
});

async function claim(store: Store, volunteerId: string, slots: number, now: number, sessionId = volunteerId): Promise<ClaimedLease[]> {
  return (await store.claimTasks(claimRequest(volunteerId, slots, now, sessionId))).leases;
}

const answer = (lease: ClaimedLease, volunteerId: string, now: number): BatchOp => ({
  verb: 'complete',
  request: { leaseId: lease.leaseId, volunteerId, output: Uint8Array.of(1), cpuMs: 1, now },
});

/** Runs every verb that reads or writes leases, on replicated and single jobs, a liar included. */
async function exerciseLeaseVerbs(store: Store): Promise<void> {
  await store.saveModule({ hash: MODULE, abi: 'bytes', size: 1, bytes: Uint8Array.of(0), createdAt: 1 });
  await store.createJob(job('pair', { redundancy: 2, quorum: 2 }));
  // A disagreement and its tie-break: the liar is struck, so its next claim counts its answers
  // still awaiting a verdict.
  const [honest] = await claim(store, 'honest', 1, 1000);
  const [lied] = await claim(store, 'liar', 1, 1000);
  await store.completeLease({ leaseId: honest!.leaseId, volunteerId: 'honest', output: Uint8Array.of(1), cpuMs: 1, now: 1100 });
  await store.completeLease({ leaseId: lied!.leaseId, volunteerId: 'liar', output: Uint8Array.of(2), cpuMs: 1, now: 1100 });
  const [tiebreak] = await claim(store, 'third', 1, 1200);
  await store.completeLease({ leaseId: tiebreak!.leaseId, volunteerId: 'third', output: Uint8Array.of(1), cpuMs: 1, now: 1300 });
  expect((await store.getVolunteer('liar'))?.strikes).toBe(1);
  await claim(store, 'liar', 2, 1300 + 2000);
  await store.createJob(job('single'));
  // A failure, a batch (lone results and a claim), a release, an adoption, deferred deadlines, an
  // expiry and a cancel.
  const held = await claim(store, 'worker', 6, 4000, 'old-session');
  await store.failLease({ leaseId: held[0]!.leaseId, volunteerId: 'worker', kind: 'trap', message: 'trap', now: 4100 });
  const answered = await store.answerBatch([answer(held[1]!, 'worker', 4100), answer(held[2]!, 'worker', 4100), answer(held[3]!, 'worker', 4100), { verb: 'claim', request: claimRequest('other', 2, 4100) }]);
  expect(answered.filter((result) => result.verb === 'complete' && result.effects.outcome === 'accepted')).toHaveLength(3);
  held.splice(1, 3);
  expect(await store.sessionsWithLeases()).toContain('old-session');
  expect(await store.adoptLeases('worker', 'new-session', [])).toHaveLength(2);
  expect(await store.deferDeadlines(['new-session'], 9000)).toHaveLength(2);
  await store.releaseLeases([held[2]!.leaseId], 4200);
  expect(await store.releaseSession('new-session', 4300)).toHaveLength(1);
  await claim(store, 'late', 1, 5000);
  expect((await store.expireLeases(5000 + 2000, 7000)).length).toBeGreaterThan(0);
  const [last] = await claim(store, 'last', 1, 8000);
  expect((await store.cancelJob(last!.jobId, 8100))?.revoked.length).toBeGreaterThan(0);
}

/** The table a statement reads or writes first: `update "t"`, `delete from "t"`, or its first `from`. */
function targetOf(source: string): string | undefined {
  return /^\s*(?:update|delete from)\s+(\S+)/i.exec(source)?.[1] ?? /\bfrom\s+(\S+)/i.exec(source)?.[1];
}

it('no statement the SQLite store runs reads the whole leases table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sparecycles-lease-indexes-'));
  dirs.push(dir);
  const file = join(dir, 'db.sqlite');
  const statements = new Set<string>();
  const prepare = Database.prototype.prepare;
  vi.spyOn(Database.prototype, 'prepare').mockImplementation(function (this: Database.Database, source: string) {
    statements.add(source);
    return prepare.call(this, source);
  });
  const store = await openSqliteStore({ file, quota: { initial: 64, max: 64 } });
  try {
    await exerciseLeaseVerbs(store);
  } finally {
    await store.close();
  }
  vi.restoreAllMocks();

  const raw = new Database(file, { readonly: true });
  try {
    // Reads, updates and deletes that name the table (inserts look nothing up; migrations are DDL).
    const onLeases = [...statements].filter((source) => source.includes('"leases"') && /^\s*(select|update|delete|with)\b/i.test(source));
    const plans = onLeases.map((source) => {
      const values = Array.from(source.matchAll(/\?/g), () => null);
      const plan = (raw.prepare(`explain query plan ${source}`).all(...values) as { detail: string }[]).map((row) => row.detail);
      return { source, plan };
    });
    // The verbs above reach the lookups that the indexes serve.
    const used = new Set(plans.flatMap(({ plan }) => plan.flatMap((line) => line.match(/leases_[a-z_]+/g) ?? [])));
    for (const index of ['leases_live_session', 'leases_live_deadline', 'leases_live_volunteer', 'leases_live_job', 'leases_task', 'leases_awaiting_verdict']) {
      expect(used, `a statement uses ${index}`).toContain(index);
    }
    const scans = plans.filter(({ plan }) => plan.some((line) => /^SCAN (TABLE )?leases\b/.test(line) && !/USING (COVERING )?INDEX leases_live_/.test(line)));
    expect(scans, 'statements that scan the leases table').toEqual([]);
    // A lookup of live leases goes through a live index (or by lease id), one of answers through theirs.
    const liveLookups = plans.filter(({ source }) => source.includes(`"state" = 'active'`));
    expect(liveLookups.length).toBeGreaterThanOrEqual(6);
    for (const { source, plan } of liveLookups) expect(plan.join(' | '), source).toMatch(/leases_live_|PRIMARY KEY|sqlite_autoindex_leases/);
    for (const { source, plan } of plans.filter(({ source }) => source.includes(`"state" = 'completed'`))) expect(plan.join(' | '), source).toMatch(/leases_awaiting_verdict/);
    // A lease's state compared with a bound value only where the lease is found by its id.
    const bound = plans.filter(({ source }) => {
      const where = /\bwhere\b/i.test(source) ? source.slice(source.search(/\bwhere\b/i)) : '';
      const leaseState = /"leases"\."state" = \?/.test(where) || (targetOf(source) === '"leases"' && /(?<!\.)"state" = \?/.test(where));
      return leaseState && !/"id" (=|in) /.test(source);
    });
    expect(bound.map(({ source }) => source)).toEqual([]);
  } finally {
    raw.close();
  }
});

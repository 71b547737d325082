import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CodedError } from '../protocol/errors.ts';
import { openSqliteStore, type Store } from '../store/index.ts';
import { createScheduler, type Scheduler, type SchedulerDeps, type VolunteerRef } from './index.ts';

const MODULE = '1'.repeat(64);
const LIMITS = { maxMemoryBytes: 16 * 65_536, maxOutputBytes: 8 };
const alice: VolunteerRef = { volunteerId: 'alice-0001', sessionId: 'sock-a', siteKey: 'site-1' };
const bob: VolunteerRef = { volunteerId: 'bob-00001', sessionId: 'sock-b', siteKey: 'site-1' };

interface Harness {
  store: Store;
  scheduler: Scheduler;
  clock: { t: number };
  revoked: { sessionId: string; leaseIds: string[] }[];
  changes: { jobId?: string }[];
  woken: string[][];
  errors: unknown[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A new process's scheduler over the harness's store and clock (a restart: 5 s resume grace). */
function restartOver(h: Harness, overrides: Partial<SchedulerDeps> = {}): Scheduler {
  const restarted = createScheduler({
    store: h.store,
    now: () => h.clock.t,
    newId: () => `lease-r${Math.random()}`,
    limits: LIMITS,
    moduleUrl: (hash) => `/modules/${hash}.wasm`,
    revoke: () => undefined,
    resumeGraceMs: 5000,
    ...overrides,
  });
  cleanups.push(() => restarted.stop());
  return restarted;
}

async function harness(overrides: Partial<SchedulerDeps> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'sparecycles-scheduler-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openSqliteStore({ file: join(dir, 'db.sqlite') });
  cleanups.push(() => store.close());
  await store.saveModule({ hash: MODULE, abi: 'bytes', size: 1, bytes: new Uint8Array([0]), createdAt: 0 });
  const clock = { t: 1_000_000 };
  const revoked: Harness['revoked'] = [];
  const changes: Harness['changes'] = [];
  const errors: unknown[] = [];
  const woken: string[][] = [];
  let ids = 0;
  const scheduler = createScheduler({
    store,
    now: () => clock.t,
    newId: () => `lease-${++ids}`,
    limits: LIMITS,
    moduleUrl: (hash) => `/modules/${hash}.wasm`,
    revoke: (sessionId, leaseIds) => revoked.push({ sessionId, leaseIds }),
    wake: (sessionIds) => woken.push(sessionIds),
    onChange: (event) => changes.push(event),
    onError: (error) => errors.push(error),
    ...overrides,
  });
  cleanups.push(() => scheduler.stop());
  return { store, scheduler, clock, revoked, changes, woken, errors };
}

async function submit(
  store: Store,
  id: string,
  inputs: number,
  options: { deadlineMs?: number; maxAttempts?: number; redundancy?: number; quorum?: number } = {},
) {
  await store.createJob({
    id,
    moduleHash: MODULE,
    redundancy: options.redundancy ?? 1,
    quorum: options.quorum ?? 1,
    deadlineMs: options.deadlineMs ?? 1000,
    maxAttempts: options.maxAttempts ?? 3,
    priority: 1,
    createdAt: 0,
    inputs: Array.from({ length: inputs }, (_, i) => new Uint8Array([i])),
  });
}

describe('scheduler', () => {
  it('hands out wire leases with module url, deadline and limits, capped per request', async () => {
    const h = await harness({ maxLeasesPerRequest: 2 });
    await submit(h.store, 'j1', 3, { deadlineMs: 1500 });
    const leases = (await h.scheduler.lease(alice, { slots: 8 })).leases;
    expect(leases).toHaveLength(2);
    expect(leases[0]).toEqual({
      leaseId: 'lease-1',
      taskId: expect.any(String),
      job: { id: 'j1', title: null, purpose: null },
      module: { hash: MODULE, url: `/modules/${MODULE}.wasm` },
      input: new Uint8Array([0]),
      deadline: h.clock.t + 1500,
      limits: { timeMs: 1500, ...LIMITS },
    });
    expect(h.changes).toEqual([{ jobId: 'j1' }]);
  });

  it('expires a lease only after deadline + grace, revokes it, and leases the task again', async () => {
    const h = await harness({ graceMs: 2000 });
    await submit(h.store, 'j1', 1, { deadlineMs: 1000 });
    const [first] = (await h.scheduler.lease(alice, { slots: 1 })).leases;

    h.clock.t += 1000 + 2000; // exactly deadline + grace: not yet overdue
    await h.scheduler.sweep();
    expect(h.revoked).toEqual([]);
    expect((await h.scheduler.lease(bob, { slots: 1 })).leases).toEqual([]);

    h.clock.t += 1;
    await h.scheduler.sweep();
    expect(h.revoked).toEqual([{ sessionId: 'sock-a', leaseIds: [first!.leaseId] }]);
    expect(h.changes).toContainEqual({ jobId: 'j1' });

    const [second] = (await h.scheduler.lease(bob, { slots: 1 })).leases;
    expect(second?.taskId).toBe(first?.taskId);
    expect(second?.leaseId).not.toBe(first?.leaseId);

    // Alice's late answer is fenced; Bob's counts.
    expect(await h.scheduler.result(alice, { leaseId: first!.leaseId, output: new Uint8Array([1]), cpuMs: 5 })).toBe('stale');
    expect(await h.scheduler.result(bob, { leaseId: second!.leaseId, output: new Uint8Array([2]), cpuMs: 5 })).toBe('accepted');
    expect(await h.scheduler.result(bob, { leaseId: second!.leaseId, output: new Uint8Array([2]), cpuMs: 5 })).toBe('duplicate');
    const [line] = await h.store.listResults('j1', 0, 1);
    expect(line).toMatchObject({ state: 'completed', output: new Uint8Array([2]) });
    expect(line?.errors?.map((e) => e.kind)).toEqual(['timeout']);
    expect((await h.store.getJob('j1'))?.state).toBe('completed');
  });

  it('sweeps on its own once started, and stops', async () => {
    const h = await harness({ graceMs: 0, sweepIntervalMs: 10 });
    // Started first, as the coordinator does before it listens: leases held at start belong to a
    // previous process (their deadlines wait for the resume grace).
    h.scheduler.start();
    h.scheduler.start();
    await submit(h.store, 'j1', 1, { deadlineMs: 100 });
    const [lease] = (await h.scheduler.lease(alice, { slots: 1 })).leases;
    h.clock.t += 101;
    await expect.poll(() => h.revoked, { timeout: 2000, interval: 10 }).toEqual([{ sessionId: 'sock-a', leaseIds: [lease!.leaseId] }]);
    await h.scheduler.stop();
    await h.scheduler.lease(alice, { slots: 1 });
    h.clock.t += 5000;
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(h.revoked).toHaveLength(1);
    expect(h.errors).toEqual([]);
  });

  it('cancel revokes live leases per session and fences them; unknown jobs answer false', async () => {
    const h = await harness();
    await submit(h.store, 'j1', 4);
    const a = (await h.scheduler.lease(alice, { slots: 2 })).leases;
    const b = (await h.scheduler.lease(bob, { slots: 1 })).leases;
    expect(await h.scheduler.cancel('j1')).toBe(true);
    expect(h.revoked).toEqual(
      expect.arrayContaining([
        { sessionId: 'sock-a', leaseIds: a.map((l) => l.leaseId) },
        { sessionId: 'sock-b', leaseIds: b.map((l) => l.leaseId) },
      ]),
    );
    expect(h.revoked).toHaveLength(2);
    expect(await h.scheduler.result(alice, { leaseId: a[0]!.leaseId, output: new Uint8Array([1]), cpuMs: 1 })).toBe('stale');
    expect(await h.scheduler.fail(bob, { leaseId: b[0]!.leaseId, kind: 'trap', message: 'x' })).toBe('stale');
    expect((await h.store.getJob('j1'))?.counts).toMatchObject({ cancelled: 4, running: 0 });
    expect(await h.scheduler.cancel('nope')).toBe(false);
  });

  it('disconnect releases at once without counting the attempt', async () => {
    const h = await harness();
    await submit(h.store, 'j1', 2, { maxAttempts: 1 });
    const leases = (await h.scheduler.lease(alice, { slots: 2 })).leases;
    await h.scheduler.disconnect('sock-a');
    // Addressed to the closed connection only, where the socket layer drops it.
    expect(h.revoked).toEqual([{ sessionId: 'sock-a', leaseIds: leases.map((l) => l.leaseId) }]);
    const again = (await h.scheduler.lease({ ...alice, sessionId: 'sock-a2' }, { slots: 2 })).leases;
    expect(again.map((l) => l.taskId)).toEqual(leases.map((l) => l.taskId));
    expect(await h.scheduler.result(alice, { leaseId: leases[0]!.leaseId, output: new Uint8Array([1]), cpuMs: 1 })).toBe('stale');
    // The same volunteer may answer from its new connection.
    expect(await h.scheduler.result({ ...alice, sessionId: 'sock-a3' }, { leaseId: again[0]!.leaseId, output: new Uint8Array([1]), cpuMs: 1 })).toBe('accepted');
  });

  it('fail records the reason and the task is leased again until maxAttempts', async () => {
    const h = await harness();
    await submit(h.store, 'j1', 1, { maxAttempts: 2 });
    const [first] = (await h.scheduler.lease(alice, { slots: 1 })).leases;
    expect(await h.scheduler.fail(alice, { leaseId: first!.leaseId, kind: 'memory', message: 'grew past the cap' })).toBe('recorded');
    expect(await h.scheduler.fail(alice, { leaseId: first!.leaseId, kind: 'memory', message: 'grew past the cap' })).toBe('duplicate');
    const [second] = (await h.scheduler.lease(bob, { slots: 1 })).leases;
    expect(await h.scheduler.fail(alice, { leaseId: second!.leaseId, kind: 'trap', message: 'not yours' })).toBe('stale');
    expect(await h.scheduler.fail(bob, { leaseId: second!.leaseId, kind: 'trap', message: 'unreachable' })).toBe('recorded');
    const [line] = await h.store.listResults('j1', 0, 1);
    expect(line?.state).toBe('failed');
    expect(line?.errors?.map((e) => [e.attempt, e.kind, e.message])).toEqual([
      [1, 'memory', 'grew past the cap'],
      [2, 'trap', 'unreachable'],
    ]);
  });

  it('refuses an output over the limit as payload_too_large and records why', async () => {
    const h = await harness();
    await submit(h.store, 'j1', 1);
    const [lease] = (await h.scheduler.lease(alice, { slots: 1 })).leases;
    const error = await h.scheduler.result(alice, { leaseId: lease!.leaseId, output: new Uint8Array(9), cpuMs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CodedError);
    expect((error as CodedError).code).toBe('payload_too_large');
    const [line] = await h.store.listResults('j1', 0, 1);
    expect(line).toMatchObject({ state: 'pending', errors: [{ attempt: 1, kind: 'invalid' }] });
    expect(line?.errors?.[0]?.message).toMatch(/9 bytes exceeds the limit of 8/);
    // An output of exactly the limit is fine.
    const [again] = (await h.scheduler.lease(alice, { slots: 1 })).leases;
    expect(await h.scheduler.result(alice, { leaseId: again!.leaseId, output: new Uint8Array(8), cpuMs: 1 })).toBe('accepted');
  });

  it('keeps sweeping when a revoke callback throws, reporting the error', async () => {
    const h = await harness({
      graceMs: 0,
      revoke: () => {
        throw new Error('socket gone');
      },
    });
    await submit(h.store, 'j1', 2, { deadlineMs: 100 });
    await h.scheduler.lease(alice, { slots: 1 });
    await h.scheduler.lease(bob, { slots: 1 });
    h.clock.t += 101;
    await h.scheduler.sweep();
    expect(h.errors).toHaveLength(2);
    expect((await h.store.getJob('j1'))?.counts).toMatchObject({ pending: 2, running: 0 });
  });

  it('wakes idle sessions when work appears: a new job, a release, a failure to retry', async () => {
    const h = await harness();
    await h.scheduler.connect(alice);
    await h.scheduler.connect(bob);
    expect((await h.scheduler.lease(bob, { slots: 1 })).leases).toEqual([]);
    await submit(h.store, 'j1', 1);
    h.scheduler.workAdded('j1');
    expect(h.woken).toEqual([['sock-b']]);

    const [lease] = (await h.scheduler.lease(alice, { slots: 1 })).leases;
    expect((await h.scheduler.lease(bob, { slots: 1 })).leases).toEqual([]);
    await h.scheduler.disconnect(alice.sessionId);
    expect(h.woken).toEqual([['sock-b'], ['sock-b']]);

    const [again] = (await h.scheduler.lease(bob, { slots: 1 })).leases;
    expect(again?.taskId).toBe(lease?.taskId);
    const carol: VolunteerRef = { volunteerId: 'carol-0001', sessionId: 'sock-c', siteKey: 'site-1' };
    await h.scheduler.connect(carol);
    expect((await h.scheduler.lease(carol, { slots: 1 })).leases).toEqual([]);
    expect(await h.scheduler.fail(bob, { leaseId: again!.leaseId, kind: 'trap', message: 'x' })).toBe('recorded');
    expect(h.woken.at(-1)).toEqual(['sock-c']);
  });

  it('a volunteer cooling down after a strike is told when to ask again, and is not woken by new work meanwhile', async () => {
    const h = await harness();
    await submit(h.store, 'j1', 1, { deadlineMs: 1000 });
    await h.scheduler.connect(alice);
    const [lapsed] = (await h.scheduler.lease(alice, { slots: 1 })).leases;
    expect(lapsed).toBeDefined();
    h.clock.t += 3001;
    await h.scheduler.sweep();
    // The expiry was a strike: 1 s of cool-down from the sweep.
    const reply = await h.scheduler.lease(alice, { slots: 1 });
    expect(reply).toEqual({ leases: [], retryAfterMs: 1000 });
    h.woken.length = 0;
    await submit(h.store, 'j2', 1);
    h.scheduler.workAdded('j2');
    expect(h.woken.flat()).not.toContain(alice.sessionId);
    h.clock.t += 1000;
    expect((await h.scheduler.lease(alice, { slots: 2 })).leases.length).toBeGreaterThan(0);
  });

  it('revokes the replicas a quorum no longer needs', async () => {
    const h = await harness();
    await submit(h.store, 'j1', 1, { redundancy: 3, quorum: 2 });
    const carol: VolunteerRef = { volunteerId: 'carol-0001', sessionId: 'sock-c', siteKey: 'site-1' };
    const [a] = (await h.scheduler.lease(alice, { slots: 1 })).leases;
    const [b] = (await h.scheduler.lease(bob, { slots: 1 })).leases;
    const [c] = (await h.scheduler.lease(carol, { slots: 1 })).leases;
    expect(new Set([a?.taskId, b?.taskId, c?.taskId]).size).toBe(1);
    expect(await h.scheduler.result(alice, { leaseId: a!.leaseId, output: new Uint8Array([7]), cpuMs: 1 })).toBe('accepted');
    expect(h.revoked).toEqual([]);
    expect(await h.scheduler.result(bob, { leaseId: b!.leaseId, output: new Uint8Array([7]), cpuMs: 1 })).toBe('accepted');
    expect(h.revoked).toEqual([{ sessionId: 'sock-c', leaseIds: [c!.leaseId] }]);
    expect((await h.store.getJob('j1'))?.state).toBe('completed');
    expect(await h.scheduler.result(carol, { leaseId: c!.leaseId, output: new Uint8Array([7]), cpuMs: 1 })).toBe('stale');
  });

  it('after a restart, a volunteer that reconnects keeps its leases; the others are released after the grace', async () => {
    const h = await harness({ resumeGraceMs: 5000 });
    await submit(h.store, 'j1', 2, { deadlineMs: 600_000 });
    const [kept] = (await h.scheduler.lease(alice, { slots: 1 })).leases;
    const [lost] = (await h.scheduler.lease(bob, { slots: 1 })).leases;
    await h.scheduler.stop();

    // A new process over the same store: the old connections are gone without a disconnect.
    const revoked: string[][] = [];
    const restarted = restartOver(h, { revoke: (_sessionId, leaseIds) => revoked.push(leaseIds) });
    restarted.start();
    const aliceAgain: VolunteerRef = { ...alice, sessionId: 'sock-a2' };
    await restarted.connect(aliceAgain);
    h.clock.t += 4999;
    await restarted.sweep();
    expect((await h.store.getJob('j1'))?.counts).toMatchObject({ running: 2 });

    h.clock.t += 1;
    await restarted.sweep();
    expect((await h.store.getJob('j1'))?.counts).toMatchObject({ running: 1, pending: 1 });
    expect(await restarted.result(bob, { leaseId: lost!.leaseId, output: new Uint8Array([1]), cpuMs: 1 })).toBe('stale');
    // Alice's lease moved to her new connection: it is hers to answer, and her new session's to release.
    expect(await restarted.result(aliceAgain, { leaseId: kept!.leaseId, output: new Uint8Array([1]), cpuMs: 1 })).toBe('accepted');
  });

  it('after a restart, two connections of one volunteer admitted at the same moment do not take each other\'s leases', async () => {
    const h = await harness({ resumeGraceMs: 5000 });
    await submit(h.store, 'j1', 2, { deadlineMs: 600_000 });
    const leased = (await h.scheduler.lease(alice, { slots: 2 })).leases.map((lease) => lease.leaseId);
    expect(leased).toHaveLength(2);
    await h.scheduler.stop();

    const restarted = restartOver(h);
    restarted.start();
    const first: VolunteerRef = { ...alice, sessionId: 'sock-a2' };
    const second: VolunteerRef = { ...alice, sessionId: 'sock-a3' };
    const [toFirst, toSecond] = await Promise.all([restarted.connect(first), restarted.connect(second)]);
    // Each lease went to one connection, and that connection was told.
    expect([...toFirst, ...toSecond].sort()).toEqual([...leased].sort());
    expect(toFirst.filter((leaseId) => toSecond.includes(leaseId))).toEqual([]);
    // A connection that was told a lease is its own answers it; closing the other releases nothing of it.
    const [holder, other] = toFirst.length > 0 ? [first, second] : [second, first];
    await restarted.disconnect(other.sessionId);
    expect(await restarted.result(holder, { leaseId: leased[0]!, output: new Uint8Array([1]), cpuMs: 1 })).toBe('accepted');
  });

  it('after a restart, leases whose deadline passed while the coordinator was down wait for the grace, then are released: no timeout, no strike', async () => {
    const h = await harness({ resumeGraceMs: 5000 });
    await submit(h.store, 'j1', 3, { deadlineMs: 1000 });
    const [answered, dropped] = (await h.scheduler.lease(alice, { slots: 2 })).leases;
    const [abandoned] = (await h.scheduler.lease(bob, { slots: 1 })).leases;
    expect([answered, dropped, abandoned].every(Boolean)).toBe(true);
    await h.scheduler.stop();
    // Down for a minute: every deadline (and its grace) is long past.
    h.clock.t += 60_000;

    const restarted = restartOver(h);
    restarted.start();
    await restarted.sweep();
    expect((await h.store.getJob('j1'))?.counts).toMatchObject({ running: 3 });
    // Alice comes back and sends the result she finished meanwhile; her queued lease she dropped
    // (its deadline, as she was told it, had passed). Bob never comes back.
    const aliceAgain: VolunteerRef = { ...alice, sessionId: 'sock-a3' };
    await restarted.connect(aliceAgain);
    expect(await restarted.result(aliceAgain, { leaseId: answered!.leaseId, output: new Uint8Array([1]), cpuMs: 1 })).toBe('accepted');
    // Past the grace and then some: released, never expired, whatever order the sweep takes.
    h.clock.t += 5000 + 2000 + 1;
    await restarted.sweep();
    const lines = await h.store.listResults('j1', 0, 3);
    expect(lines.map((line) => line.state)).toEqual(['completed', 'pending', 'pending']);
    expect(lines.slice(1).map((line) => line.errors?.map((error) => error.kind))).toEqual([['released'], ['released']]);
    for (const volunteer of [alice, bob]) {
      expect(await h.store.getVolunteer(volunteer.volunteerId)).toMatchObject({ errors: 0, strikes: 0 });
    }
  });
  it('issue 9, item 7: a lease prefetched behind another job\'s long task does not expire in the queue, and runs with its own time limit', async () => {
    const h = await harness({ graceMs: 2000 });
    await submit(h.store, 'long', 1, { deadlineMs: 20_000 });
    const start = h.clock.t;
    const [long] = (await h.scheduler.lease(alice, { slots: 1, workers: 1 })).leases;
    await submit(h.store, 'short', 1, { deadlineMs: 3_000 });
    // The volunteer's one worker runs the long task; it prefetches one lease to queue.
    const [queued] = (await h.scheduler.lease(alice, { slots: 1, workers: 1 })).leases;
    expect(queued?.job.id).toBe('short');
    expect(queued?.limits.timeMs).toBe(3_000);
    expect(queued?.deadline).toBe(long!.deadline + 3_000);
    // Before: the queued lease expired at 3 s + grace, twice, and the task failed. Now it waits.
    for (const step of [3_000 + 2_000 + 1, 3_000 + 2_000 + 1]) {
      h.clock.t += step;
      await h.scheduler.sweep();
    }
    expect(h.revoked).toEqual([]);
    h.clock.t = start + 19_000;
    expect(await h.scheduler.result(alice, { leaseId: long!.leaseId, output: new Uint8Array([1]), cpuMs: 19_000 })).toBe('accepted');
    h.clock.t = start + 21_500;
    expect(await h.scheduler.result(alice, { leaseId: queued!.leaseId, output: new Uint8Array([2]), cpuMs: 2_500 })).toBe('accepted');
    expect(await h.store.getVolunteer(alice.volunteerId)).toMatchObject({ errors: 0, strikes: 0 });
    expect((await h.store.getJob('short'))?.counts).toMatchObject({ completed: 1 });
  });
});

/**
 * The Store contract for replicated jobs (redundancy r, quorum q), reputation and quotas, as one
 * vitest suite per dialect beside `store.contract.ts`: by example, and as properties over random
 * schedules of claims, answers (honest and lying), failures, disconnects and expiries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COOLDOWN, DEFAULT_QUOTA, TRUST_AFTER, claimableFrom } from '../scheduler/reputation.ts';
import type { ClaimedLease, NewJob, Store } from './store.ts';
import { closedAfterEach } from './contract-support.ts';

const MODULE = 'c'.repeat(64);
/** What honest volunteers compute for every task of these jobs. */
const HONEST = Uint8Array.of(1);
/** Never a single replica: the property below checks every acceptance against the job's quorum. */
const NEVER_SINGLE = (): number => 0.999_999_999;

/** Registers the replica contract tests under `name`; `open` returns a fresh, migrated store. */
export function describeReplicaContract(name: string, open: () => Promise<Store>): void {
  describe(`Store replica contract: ${name}`, () => {
    const openStore = closedAfterEach(open);

    async function fresh(): Promise<Store> {
      const store = await openStore();
      await store.saveModule({ hash: MODULE, abi: 'bytes', size: 3, bytes: Uint8Array.of(0, 97, 115), createdAt: 1 });
      return store;
    }

    let leaseCounter = 0;
    const newLeaseId = (): string => `replica-lease-${++leaseCounter}`;

    function job(id: string, overrides: Partial<NewJob> = {}): NewJob {
      return {
        id,
        moduleHash: MODULE,
        redundancy: 2,
        quorum: 2,
        deadlineMs: 1000,
        maxAttempts: 3,
        priority: 1,
        createdAt: 100,
        inputs: [Uint8Array.of(0)],
        ...overrides,
      };
    }

    const claim = (
      store: Store,
      volunteerId: string,
      slots: number,
      opts: { now?: number; random?: () => number; workers?: number; sessionId?: string } = {},
    ): Promise<ClaimedLease[]> =>
      store.claimTasks({
        volunteerId,
        sessionId: opts.sessionId ?? volunteerId,
        siteKey: 'site-1',
        slots,
        now: opts.now ?? 1000,
        newLeaseId,
        random: opts.random ?? NEVER_SINGLE,
        ...(opts.workers === undefined ? {} : { workers: opts.workers }),
      }).then((outcome) => outcome.leases);

    const complete = (store: Store, lease: ClaimedLease, volunteerId: string, output: Uint8Array, now = 1100) =>
      store.completeLease({ leaseId: lease.leaseId, volunteerId, output, cpuMs: 5, now });

    async function only(store: Store, volunteerId: string, opts: { random?: () => number } = {}): Promise<ClaimedLease> {
      const leases = await claim(store, volunteerId, 4, opts);
      expect(leases, `${volunteerId}'s claim`).toHaveLength(1);
      return leases[0]!;
    }

    async function taskOf(store: Store, jobId: string, index = 0) {
      return (await store.listResults(jobId, index, 1))[0]!;
    }

    describe('replicas', () => {
      it('go to distinct volunteers: one volunteer never holds two replicas of a task, live or answered', async () => {
        const store = await fresh();
        await store.createJob(job('r1', { redundancy: 3, quorum: 2 }));
        const first = await only(store, 'vol-1');
        expect(await claim(store, 'vol-1', 4)).toEqual([]);
        await complete(store, first, 'vol-1', HONEST);
        expect(await claim(store, 'vol-1', 4)).toEqual([]);
        // Another tab of the same volunteer is the same volunteer.
        expect(await claim(store, 'vol-1', 4, { sessionId: 'vol-1-tab-2' })).toEqual([]);
        const second = await only(store, 'vol-2');
        const third = await only(store, 'vol-3');
        expect(new Set([first, second, third].map((lease) => lease.taskId)).size).toBe(1);
        // r = 3 replicas are out or answered: a fourth volunteer gets nothing.
        expect(await claim(store, 'vol-4', 4)).toEqual([]);
      });

      it('are accepted once q agree: the output is kept, replicas still out are revoked, agreeing volunteers gain', async () => {
        const store = await fresh();
        await store.createJob(job('r2', { redundancy: 3, quorum: 2 }));
        const a = await only(store, 'vol-1');
        const b = await only(store, 'vol-2');
        const c = await only(store, 'vol-3');
        expect((await complete(store, a, 'vol-1', HONEST)).outcome).toBe('accepted');
        expect((await taskOf(store, 'r2')).state).toBe('running');
        const second = await complete(store, b, 'vol-2', HONEST);
        expect(second.revoked.map((lease) => lease.leaseId)).toEqual([c.leaseId]);
        const task = await taskOf(store, 'r2');
        expect(task.state).toBe('completed');
        expect([...(task.output ?? [])]).toEqual([...HONEST]);
        // The revoked replica is fenced.
        expect((await complete(store, c, 'vol-3', HONEST)).outcome).toBe('stale');
        for (const id of ['vol-1', 'vol-2']) {
          expect(await store.getVolunteer(id)).toMatchObject({ valid: 1, invalid: 0, consecutiveValid: 1, quota: DEFAULT_QUOTA.initial * 2 });
        }
        expect(await store.getVolunteer('vol-3')).toMatchObject({ valid: 0, invalid: 0 });
        expect((await store.getJob('r2'))?.state).toBe('completed');
      });

      it('disagreeing: the task wants another replica, the majority wins, and the odd one out loses trust and quota', async () => {
        const store = await fresh();
        await store.createJob(job('r3'));
        const honest = await only(store, 'vol-1');
        const liar = await only(store, 'vol-2');
        await complete(store, honest, 'vol-1', HONEST);
        const answered = await complete(store, liar, 'vol-2', Uint8Array.of(99));
        expect(answered.reopened).toBe(true);
        expect((await taskOf(store, 'r3')).state).toBe('pending');
        const tiebreak = await only(store, 'vol-3');
        await complete(store, tiebreak, 'vol-3', HONEST);
        const task = await taskOf(store, 'r3');
        expect(task.state).toBe('completed');
        expect([...(task.output ?? [])]).toEqual([...HONEST]);
        expect(await store.getVolunteer('vol-2')).toMatchObject({ valid: 0, invalid: 1, consecutiveValid: 0, quota: DEFAULT_QUOTA.initial / 2 });
        expect(await store.getVolunteer('vol-3')).toMatchObject({ valid: 1, invalid: 0 });
      });

      it('fail the task as no_quorum once no output can reach q within 2r + 1 results', async () => {
        const store = await fresh();
        await store.createJob(job('r4'));
        let results = 0;
        for (let v = 1; v <= 10 && (await taskOf(store, 'r4')).state !== 'failed'; v++) {
          const leases = await claim(store, `vol-${v}`, 4);
          for (const lease of leases) {
            await complete(store, lease, `vol-${v}`, Uint8Array.of(v));
            results += 1;
          }
        }
        const task = await taskOf(store, 'r4');
        expect(task.state).toBe('failed');
        expect(results).toBe(5);
        expect(task.errors?.map((error) => error.kind)).toEqual(['no_quorum']);
        expect((await store.getJob('r4'))?.state).toBe('completed');
      });
    });

    describe('adaptive replication', () => {
      /** Gives vol-1 an unbroken run of `TRUST_AFTER` agreeing results (vol-2 agrees each time). */
      async function earnTrust(store: Store): Promise<void> {
        await store.createJob(job('warmup', { inputs: Array.from({ length: TRUST_AFTER }, (_, i) => Uint8Array.of(i)) }));
        for (let i = 0; i < TRUST_AFTER; i++) {
          for (const volunteerId of ['vol-1', 'vol-2']) {
            const [lease] = await claim(store, volunteerId, 1);
            await complete(store, lease!, volunteerId, HONEST);
          }
        }
        expect(await store.getVolunteer('vol-1')).toMatchObject({ consecutiveValid: TRUST_AFTER });
      }

      it('a trusted volunteer gets a fresh task as a single replica when the draw falls under 1 − 1/run', async () => {
        const store = await fresh();
        await earnTrust(store);
        await store.createJob(job('single'));
        const lease = await only(store, 'vol-1', { random: () => 0.89 });
        // Nobody else is wanted: the task went out as one replica.
        expect(await claim(store, 'vol-3', 4)).toEqual([]);
        await complete(store, lease, 'vol-1', HONEST);
        expect((await taskOf(store, 'single')).state).toBe('completed');
        expect(await store.getVolunteer('vol-1')).toMatchObject({ unchecked: 1, consecutiveValid: TRUST_AFTER });
      });

      it('otherwise (a spot check) the task is replicated as the job asks', async () => {
        const store = await fresh();
        await earnTrust(store);
        await store.createJob(job('spot'));
        await only(store, 'vol-1', { random: () => 0.9 });
        await only(store, 'vol-3');
        expect((await taskOf(store, 'spot')).state).toBe('running');
      });

      it('a job that refuses adaptive replication is replicated in full, even for a trusted volunteer', async () => {
        const store = await fresh();
        await earnTrust(store);
        await store.createJob(job('strict', { adaptiveReplication: false }));
        expect((await store.getJob('strict'))?.adaptiveReplication).toBe(false);
        await only(store, 'vol-1', { random: () => 0 });
        await only(store, 'vol-3');
        expect((await taskOf(store, 'strict')).state).toBe('running');
      });

      it('an untrusted volunteer never gets a single replica, whatever the draw', async () => {
        const store = await fresh();
        await store.createJob(job('untrusted'));
        await only(store, 'vol-9', { random: () => 0 });
        await only(store, 'vol-8', { random: () => 0 });
      });
    });

    describe('quotas', () => {
      /** Earns `vol` a quota of 8: two accepted results from the initial 2. */
      async function earnEight(store: Store, vol: string): Promise<void> {
        const first = await claim(store, vol, 8, { workers: 8, sessionId: `${vol}-earning` });
        expect(first).toHaveLength(DEFAULT_QUOTA.initial);
        for (const lease of first) await complete(store, lease, vol, HONEST);
        expect(await store.getVolunteer(vol)).toMatchObject({ quota: DEFAULT_QUOTA.initial * 4 });
      }

      it('are earned: a new volunteer holds its initial 2 whatever it asks, and doubles them with each accepted result', async () => {
        const store = await fresh();
        await store.createJob(job('many', { redundancy: 1, quorum: 1, inputs: Array.from({ length: 40 }, (_, i) => Uint8Array.of(i)) }));
        await earnEight(store, 'vol-1');
        expect(await claim(store, 'vol-1', 8, { workers: 8 })).toHaveLength(8);
      });

      it('throwaway ids take their initial quota each, not a full share: 50 fresh ids asking for 8', async () => {
        const store = await fresh();
        await store.createJob(job('crowd', { redundancy: 1, quorum: 1, inputs: Array.from({ length: 400 }, (_, i) => Uint8Array.of(i & 255)) }));
        let taken = 0;
        for (let id = 0; id < 50; id++) taken += (await claim(store, `throwaway-${id}`, 8, { workers: 64 })).length;
        expect(taken).toBe(50 * DEFAULT_QUOTA.initial);
      });

      it('cap the leases one volunteer holds at once over all its sessions; the prefetch bound caps a session', async () => {
        const store = await fresh();
        await store.createJob(job('many', { redundancy: 1, quorum: 1, inputs: Array.from({ length: 40 }, (_, i) => Uint8Array.of(i)) }));
        await earnEight(store, 'vol-1');
        // One worker announced: one running and one queued lease.
        expect(await claim(store, 'vol-1', 8, { workers: 1, sessionId: 'tab-1' })).toHaveLength(2);
        expect(await claim(store, 'vol-1', 8, { workers: 1, sessionId: 'tab-1' })).toHaveLength(0);
        // Other tabs of the same volunteer share its quota of 8.
        let held = 2;
        for (let tab = 2; tab < 12; tab++) held += (await claim(store, 'vol-1', 8, { workers: 4, sessionId: `tab-${tab}` })).length;
        expect(held).toBe(8);
      });

      it('halve on every expiry: a volunteer that lets leases expire is down to one', async () => {
        const store = await fresh();
        await store.createJob(job('expiring', { redundancy: 1, quorum: 1, deadlineMs: 100, maxAttempts: 50, inputs: Array.from({ length: 20 }, (_, i) => Uint8Array.of(i)) }));
        let now = 1000;
        for (let round = 0; round < 6; round++) {
          await claim(store, 'hoarder', 8, { now, workers: 8 });
          await claim(store, 'hoarder', 8, { now, workers: 8 });
          now += 500;
          await store.expireLeases(now, now);
          // Past its cool-down, so the next round may claim again.
          now += COOLDOWN.maxMs;
        }
        expect(await store.getVolunteer('hoarder')).toMatchObject({ quota: 1 });
        expect(await claim(store, 'hoarder', 8, { now, workers: 8 })).toHaveLength(1);
      });
    });

    describe('why a claim comes back empty, and queued deadlines', () => {
      const ask = (store: Store, volunteerId: string, slots: number, now: number, workers?: number) =>
        store.claimTasks({ volunteerId, sessionId: volunteerId, siteKey: 'site-1', slots, now, newLeaseId, random: NEVER_SINGLE, ...(workers === undefined ? {} : { workers }) });

      it('says no_work, quota, or cooldown with when to ask again, inside the claim', async () => {
        const store = await fresh();
        expect(await ask(store, 'idle', 2, 1000)).toEqual({ leases: [], empty: { reason: 'no_work' } });
        await store.createJob(job('reasons', { redundancy: 1, quorum: 1, deadlineMs: 100, inputs: Array.from({ length: 4 }, (_, i) => Uint8Array.of(i)) }));
        expect((await ask(store, 'full', 4, 1000, 1)).leases).toHaveLength(2);
        expect(await ask(store, 'full', 1, 1000, 1)).toEqual({ leases: [], empty: { reason: 'quota' } });
        // Both leases expire unanswered: a strike, so a cool-down counted from the expiry.
        await store.expireLeases(1300, 1300);
        expect(await ask(store, 'full', 1, 1700, 1)).toEqual({ leases: [], empty: { reason: 'cooldown', retryAfterMs: COOLDOWN.baseMs - 400 } });
      });

      it('issue 9, item 7: a short lease queued behind another job\'s long task does not expire in the queue', async () => {
        const store = await fresh();
        await store.createJob(job('long', { redundancy: 1, quorum: 1, deadlineMs: 20_000, createdAt: 100 }));
        const [long] = (await ask(store, 'one-worker', 1, 1000, 1)).leases;
        expect(long?.deadline).toBe(21_000);
        await store.createJob(job('short', { redundancy: 1, quorum: 1, deadlineMs: 3_000, createdAt: 200 }));
        const [queued] = (await ask(store, 'one-worker', 1, 1100, 1)).leases;
        // Queued behind the 20 s task: its 3 s count from when the worker is sure to be free.
        expect([queued?.jobId, queued?.deadline, queued?.deadlineMs]).toEqual(['short', 24_000, 3_000]);
        // Past 3 s (and any grace) the queued lease is still live; the long one is answered in time.
        expect(await store.expireLeases(1100 + 3_000 + 2_000, 6_100)).toEqual([]);
        expect((await store.completeLease({ leaseId: long!.leaseId, volunteerId: 'one-worker', output: HONEST, cpuMs: 5, now: 20_000 })).outcome).toBe('accepted');
        expect((await store.completeLease({ leaseId: queued!.leaseId, volunteerId: 'one-worker', output: HONEST, cpuMs: 5, now: 23_000 })).outcome).toBe('accepted');
        expect(await store.getVolunteer('one-worker')).toMatchObject({ strikes: 0, errors: 0 });
        // Expiry stays fenced at the stored deadline: a queued lease nobody answers still expires.
        await store.createJob(job('short-2', { redundancy: 1, quorum: 1, deadlineMs: 3_000, createdAt: 300, inputs: [Uint8Array.of(7), Uint8Array.of(8)] }));
        const pair = (await ask(store, 'one-worker', 2, 30_000, 1)).leases;
        expect(pair.map((l) => l.deadline)).toEqual([33_000, 36_000]);
        expect((await store.expireLeases(36_001, 36_001)).map((l) => l.leaseId).sort()).toEqual(pair.map((l) => l.leaseId).sort());
      });
    });

    describe('cool-down after strikes', () => {
      it('a volunteer whose result disagreed gets nothing for 1 s, then work again; agreeing clears its strikes', async () => {
        const store = await fresh();
        await store.createJob(job('cool', { inputs: Array.from({ length: 6 }, (_, i) => Uint8Array.of(i)) }));
        const [first] = await claim(store, 'vol-1', 1, { now: 1000 });
        const [lied] = await claim(store, 'liar', 1, { now: 1000 });
        await complete(store, first!, 'vol-1', HONEST, 1100);
        await complete(store, lied!, 'liar', Uint8Array.of(66), 1200);
        const [tiebreak] = await claim(store, 'vol-2', 1, { now: 1300 });
        await complete(store, tiebreak!, 'vol-2', HONEST, 1400);
        expect(await store.getVolunteer('liar')).toMatchObject({ strikes: 1, struckAt: 1400 });

        expect(await claim(store, 'liar', 1, { now: 1400 + 999 })).toEqual([]);
        const [next] = await claim(store, 'liar', 1, { now: 1400 + 1000 });
        expect(next).toBeDefined();
        // It agrees this time: strikes cleared, no cool-down.
        const [partner] = await claim(store, 'vol-1', 1, { now: 2500 });
        expect(partner?.taskId).toBe(next?.taskId);
        await complete(store, next!, 'liar', HONEST, 2600);
        await complete(store, partner!, 'vol-1', HONEST, 2700);
        expect(await store.getVolunteer('liar')).toMatchObject({ strikes: 0 });
        expect(await claim(store, 'liar', 1, { now: 2700 })).toHaveLength(1);
      });

      it('a batch of leases expiring together is one strike: 1 s of cool-down, not 2^n', async () => {
        const store = await fresh();
        await store.createJob(job('batch', { redundancy: 1, quorum: 1, deadlineMs: 100, inputs: Array.from({ length: 8 }, (_, i) => Uint8Array.of(i)) }));
        // A new volunteer holds its initial quota at most: the whole batch it could take.
        expect(await claim(store, 'sleeper', 8, { now: 1000 })).toHaveLength(DEFAULT_QUOTA.initial);
        await store.expireLeases(1200, 1200);
        expect(await store.getVolunteer('sleeper')).toMatchObject({ strikes: 1, struckAt: 1200 });
        expect(await claim(store, 'sleeper', 1, { now: 2199 })).toEqual([]);
        const [again] = await claim(store, 'sleeper', 1, { now: 2200 });
        expect(again).toBeDefined();
        // That one was issued after the strike: its expiry lengthens the run.
        await store.expireLeases(2400, 2400);
        expect(await store.getVolunteer('sleeper')).toMatchObject({ strikes: 2, struckAt: 2400 });
        expect(await claim(store, 'sleeper', 1, { now: 2400 + 1999 })).toEqual([]);
        expect(await claim(store, 'sleeper', 1, { now: 2400 + 2000 })).toHaveLength(1);
      });

      it('a struck volunteer at quota one gets no fresh lease while its last answer waits for a verdict', async () => {
        const store = await fresh();
        // Its initial leases left to expire: the quota halved down to one; one strike.
        await store.createJob(job('lapsed', { redundancy: 1, quorum: 1, deadlineMs: 100, inputs: Array.from({ length: 8 }, (_, i) => Uint8Array.of(i)) }));
        await claim(store, 'quick', 8, { now: 1000 });
        await store.expireLeases(1200, 1200);
        await store.cancelJob('lapsed', 1200);
        expect(await store.getVolunteer('quick')).toMatchObject({ quota: 1, strikes: 1 });

        await store.createJob(job('judged', { inputs: [Uint8Array.of(0), Uint8Array.of(1)] }));
        const [answer] = await claim(store, 'quick', 1, { now: 3000 });
        await complete(store, answer!, 'quick', HONEST, 3001);
        // Its answer is not judged yet: nothing more for it, though it holds no live lease.
        expect(await claim(store, 'quick', 1, { now: 3002 })).toEqual([]);
        const [partner] = await claim(store, 'vol-1', 1, { now: 3003 });
        expect(partner?.taskId).toBe(answer?.taskId);
        await complete(store, partner!, 'vol-1', HONEST, 3004);
        // Judged, and it agreed: strikes cleared, work again.
        expect(await store.getVolunteer('quick')).toMatchObject({ strikes: 0, quota: 2 });
        expect(await claim(store, 'quick', 1, { now: 3005 })).toHaveLength(1);
      });

      it('an expiry is a strike too: the expired volunteer waits, others are served', async () => {
        const store = await fresh();
        await store.createJob(job('cool-expiry', { redundancy: 1, quorum: 1, deadlineMs: 100, inputs: [Uint8Array.of(0), Uint8Array.of(1)] }));
        await claim(store, 'sleepy', 1, { now: 1000 });
        await store.expireLeases(1200, 1200);
        expect(await claim(store, 'sleepy', 1, { now: 1500 })).toEqual([]);
        expect(await claim(store, 'awake', 2, { now: 1500 })).toHaveLength(2);
      });
    });

    describe('after a restart', () => {
      it('defers only live leases of the named sessions whose deadline is earlier, and says which', async () => {
        const store = await fresh();
        await store.createJob(job('restart', { redundancy: 1, quorum: 1, deadlineMs: 1000, inputs: Array.from({ length: 4 }, (_, i) => Uint8Array.of(i)) }));
        const [early] = await claim(store, 'vol-1', 1, { now: 1000, sessionId: 'old-1' });
        const [late] = await claim(store, 'vol-2', 1, { now: 50_000, sessionId: 'old-2' });
        const [done] = await claim(store, 'vol-3', 1, { now: 1000, sessionId: 'old-3' });
        const [elsewhere] = await claim(store, 'vol-4', 1, { now: 1000, sessionId: 'current' });
        await complete(store, done!, 'vol-3', HONEST, 1500);
        expect(await store.deferDeadlines([], 10_000)).toEqual([]);
        expect(await store.deferDeadlines(['old-1', 'old-2', 'old-3'], 10_000)).toEqual([early!.leaseId]);
        // Deferred: not overdue at 5 s any more; the other session's lease is.
        const expired = await store.expireLeases(5_000, 5_000);
        expect(expired.map((lease) => lease.leaseId)).toEqual([elsewhere!.leaseId]);
        expect(late).toBeDefined();
      });

      it('releases the named leases still live, uncounted, and leaves ended ones alone', async () => {
        const store = await fresh();
        await store.createJob(job('release', { redundancy: 1, quorum: 1, inputs: [Uint8Array.of(0), Uint8Array.of(1)] }));
        const [kept, answered] = await claim(store, 'vol-1', 2, { now: 1000 });
        await complete(store, answered!, 'vol-1', HONEST, 1100);
        const released = await store.releaseLeases([kept!.leaseId, answered!.leaseId, 'no-such-lease'], 1200);
        expect(released.map((lease) => lease.leaseId)).toEqual([kept!.leaseId]);
        const lines = await store.listResults('release', 0, 2);
        expect(lines.map((line) => [line.state, line.errors?.map((error) => error.kind)])).toEqual([
          ['pending', ['released']],
          ['completed', undefined],
        ]);
        expect(await store.getVolunteer('vol-1')).toMatchObject({ errors: 0, strikes: 0 });
      });
    });

    describe('invariants under random schedules', () => {
      it('never more than r live replicas, never two on one volunteer, nothing accepted without q agreeing volunteers, every task terminal once', async () => {
        const store = await fresh();
        const TASKS = 5;
        const VOLUNTEERS = 5;
        // Volunteers 3 and 4 lie, each its own way, so liars never agree with each other.
        const outputOf = (volunteer: number): Uint8Array => (volunteer === 3 || volunteer === 4 ? Uint8Array.of(100 + volunteer) : HONEST);
        type Op =
          | { op: 'claim'; volunteer: number; slots: number }
          | { op: 'complete' | 'fail'; pick: number }
          | { op: 'release'; volunteer: number }
          | { op: 'expire' }
          | { op: 'tick'; ms: number };
        const opArb: fc.Arbitrary<Op> = fc.oneof(
          { weight: 4, arbitrary: fc.record({ op: fc.constant('claim' as const), volunteer: fc.nat(VOLUNTEERS - 1), slots: fc.integer({ min: 1, max: 4 }) }) },
          { weight: 4, arbitrary: fc.record({ op: fc.constant('complete' as const), pick: fc.nat(50) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('fail' as const), pick: fc.nat(50) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('release' as const), volunteer: fc.nat(VOLUNTEERS - 1) }) },
          { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const) }) },
          // Up to a few seconds: long enough for cool-downs to end, and struck volunteers to claim again.
          { weight: 2, arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3000 }) }) },
        );
        const shapeArb = fc.integer({ min: 1, max: 3 }).chain((redundancy) =>
          fc.record({ redundancy: fc.constant(redundancy), quorum: fc.integer({ min: 1, max: redundancy }) }),
        );
        let run = 0;
        await fc.assert(
          fc.asyncProperty(shapeArb, fc.array(opArb, { minLength: 1, maxLength: 50 }), async (shape, ops) => {
            run += 1;
            const jobId = `prop-${run}`;
            // Fresh volunteer ids per run, so no record carries over between runs.
            const idOf = (volunteer: number): string => `r${run}-vol-${volunteer}`;
            await store.createJob(job(jobId, { ...shape, inputs: Array.from({ length: TASKS }, (_, i) => Uint8Array.of(i)), deadlineMs: 500, maxAttempts: 3 }));
            let now = 1000;
            const live = new Map<string, { lease: ClaimedLease; volunteer: number }>();
            // Per task: every volunteer that has answered it, with its output.
            const answers = new Map<number, Map<number, Uint8Array>>();
            const terminal = new Map<number, { state: string; output: string }>();
            const end = (leaseId: string): void => void live.delete(leaseId);

            const check = async (): Promise<void> => {
              for (let index = 0; index < TASKS; index++) {
                const replicas = [...live.values()].filter((held) => held.lease.index === index);
                expect(replicas.length, `task ${index} live replicas`).toBeLessThanOrEqual(shape.redundancy);
                expect(new Set(replicas.map((held) => held.volunteer)).size, `task ${index} volunteers`).toBe(replicas.length);
              }
              const lines = await store.listResults(jobId, 0, TASKS);
              const counts = (await store.getJob(jobId))!.counts;
              expect(counts.pending + counts.running + counts.completed + counts.failed + counts.cancelled).toBe(TASKS);
              for (const line of lines) {
                const seen = terminal.get(line.index);
                const now = { state: line.state, output: [...(line.output ?? [])].join(',') };
                if (seen) expect(now, `task ${line.index} after it ended`).toEqual(seen);
                if (line.state === 'completed') {
                  const agreeing = [...(answers.get(line.index) ?? new Map<number, Uint8Array>()).values()].filter(
                    (output) => [...output].join(',') === now.output,
                  );
                  expect(agreeing.length, `task ${line.index} accepted on`).toBeGreaterThanOrEqual(shape.quorum);
                  // Liars never agree with anyone: with q ≥ 2 only the honest output can win.
                  if (shape.quorum >= 2) expect(now.output).toBe([...HONEST].join(','));
                }
                if (line.state === 'completed' || line.state === 'failed') terminal.set(line.index, now);
                if (!seen && (line.state === 'completed' || line.state === 'failed')) {
                  // A settled task keeps no live replica.
                  for (const [leaseId, held] of live) {
                    if (held.lease.index === line.index) expect.fail(`task ${line.index} ended with live lease ${leaseId}`);
                  }
                }
              }
            };

            for (const step of ops) {
              if (step.op === 'claim') {
                const record = await store.getVolunteer(idOf(step.volunteer));
                const claimed = await claim(store, idOf(step.volunteer), step.slots, { now });
                // Cooling down after a strike: nothing, whatever is open.
                if (record && now < claimableFrom(record, record.struckAt)) expect(claimed).toEqual([]);
                for (const lease of claimed) {
                  if (lease.jobId === jobId) live.set(lease.leaseId, { lease, volunteer: step.volunteer });
                }
              } else if (step.op === 'release') {
                (await store.releaseSession(idOf(step.volunteer), now)).forEach((lease) => end(lease.leaseId));
              } else if (step.op === 'expire') {
                (await store.expireLeases(now, now)).forEach((lease) => end(lease.leaseId));
              } else if (step.op === 'tick') {
                now += step.ms;
              } else {
                const entries = [...live.entries()];
                if (entries.length === 0) continue;
                const [leaseId, held] = entries[step.pick % entries.length]!;
                const volunteerId = idOf(held.volunteer);
                if (step.op === 'complete') {
                  const output = outputOf(held.volunteer);
                  const answered = await store.completeLease({ leaseId, volunteerId, output, cpuMs: 1, now });
                  expect(answered.outcome).toBe('accepted');
                  const byVolunteer = answers.get(held.lease.index) ?? new Map<number, Uint8Array>();
                  byVolunteer.set(held.volunteer, output);
                  answers.set(held.lease.index, byVolunteer);
                  end(leaseId);
                  answered.revoked.forEach((lease) => end(lease.leaseId));
                } else {
                  const answered = await store.failLease({ leaseId, volunteerId, kind: 'trap', message: 't', now });
                  expect(answered.outcome).toBe('recorded');
                  end(leaseId);
                  answered.revoked.forEach((lease) => end(lease.leaseId));
                }
              }
              await check();
            }

            // Drain with fresh honest volunteers: every task ends completed or failed.
            for (let round = 0; round < 40 && terminal.size < TASKS; round++) {
              for (const [leaseId, held] of [...live]) {
                const answered = await store.completeLease({ leaseId, volunteerId: idOf(held.volunteer), output: outputOf(held.volunteer), cpuMs: 1, now });
                const byVolunteer = answers.get(held.lease.index) ?? new Map<number, Uint8Array>();
                if (answered.outcome === 'accepted') byVolunteer.set(held.volunteer, outputOf(held.volunteer));
                answers.set(held.lease.index, byVolunteer);
                end(leaseId);
                answered.revoked.forEach((lease) => end(lease.leaseId));
              }
              const drainer = 100 + round;
              for (const lease of await claim(store, idOf(drainer), TASKS, { now })) {
                if (lease.jobId === jobId) live.set(lease.leaseId, { lease, volunteer: drainer });
              }
              await check();
            }
            expect(terminal.size).toBe(TASKS);
            expect((await store.getJob(jobId))!.state).toBe('completed');
          }),
          { numRuns: 30 },
        );
      });
    });
  });
}

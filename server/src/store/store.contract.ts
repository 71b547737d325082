/**
 * The contract every `Store` must keep, as one vitest suite run per dialect
 * (`store.sqlite.test.ts` now, `store.pg.test.ts` later). `open` must return a fresh, empty,
 * migrated store each time; the suite closes every store it opens.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CodedError } from '../protocol/errors.ts';
import { DEFAULT_SITE_SETTINGS } from '../sites/index.ts';
import type { AnswerEffects, NewJob, Store } from './store.ts';
import { ROOMY_QUOTA, closedAfterEach, plainJob, type OpenContractStore } from './contract-support.ts';

/** The outcome of answering a lease, without its effects. */
export async function outcome<O>(answer: Promise<AnswerEffects<O>>): Promise<O> {
  return (await answer).outcome;
}

const MODULE_A = 'a'.repeat(64);
const MODULE_B = 'b'.repeat(64);

/** Registers the shared Store contract tests under `name`. */
export function describeStoreContract(name: string, open: OpenContractStore): void {
  describe(`Store contract: ${name}`, () => {
    const openStore = closedAfterEach(() => open({ quota: ROOMY_QUOTA }));

    async function fresh(): Promise<Store> {
      const store = await openStore();
      await store.saveModule({ hash: MODULE_A, abi: 'bytes', size: 3, bytes: new Uint8Array([0, 97, 115]), createdAt: 1 });
      await store.saveModule({ hash: MODULE_B, abi: 'wasi', size: 2, bytes: new Uint8Array([1, 2]), createdAt: 2 });
      return store;
    }

    let leaseCounter = 0;
    const newLeaseId = (): string => `lease-${++leaseCounter}`;

    function job(id: string, overrides: Partial<NewJob> = {}): NewJob {
      return {
        ...plainJob(id, MODULE_A),
        inputs: [bytes(0), bytes(1), bytes(2)],
        ...overrides,
      };
    }

    function claim(store: Store, slots: number, opts: { volunteerId?: string; sessionId?: string; now?: number; cached?: string[] } = {}) {
      return store.claimTasks({
        volunteerId: opts.volunteerId ?? 'vol-1',
        sessionId: opts.sessionId ?? 'sess-1',
        siteKey: 'site-1',
        slots,
        now: opts.now ?? 1000,
        ...(opts.cached ? { cached: opts.cached } : {}),
        newLeaseId,
        random: () => 0.5,
      }).then((outcome) => outcome.leases);
    }

    async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
      try {
        await promise;
        return undefined;
      } catch (error) {
        return error instanceof CodedError ? error.code : `not coded: ${String(error)}`;
      }
    }

    describe('modules and sites', () => {
      it('saves a module once and reads it back by hash', async () => {
        const store = await fresh();
        const hash = 'c'.repeat(64);
        const record = { hash, abi: 'bytes' as const, size: 4, bytes: new Uint8Array([9, 8, 7, 6]), createdAt: 5 };
        expect(await store.saveModule(record)).toEqual({ created: true });
        expect(await store.saveModule(record)).toEqual({ created: false });
        expect(await store.getModule(hash)).toEqual(record);
        expect(await store.getModuleMeta(hash)).toEqual({ hash, abi: 'bytes', size: 4, createdAt: 5 });
        expect(await store.getModule('d'.repeat(64))).toBeUndefined();
        expect(await store.getModuleMeta('d'.repeat(64))).toBeUndefined();
      });

      it('creates a site, reads it back, and refuses a second site with the same key', async () => {
        const store = await fresh();
        const site = { siteKey: 'sk_1', name: 'Blog', origins: ['https://a.example', 'http://localhost:8081'], createdAt: 7 };
        const record = { ...site, owner: 'operator', settings: DEFAULT_SITE_SETTINGS };
        expect(await store.createSite(site)).toEqual(record);
        expect(await store.getSite('sk_1')).toEqual(record);
        expect(await codeOf(store.createSite({ ...site, name: 'Other' }))).toBe('conflict');
        expect(await store.getSite('sk_1')).toEqual(record);
        expect(await store.getSite('nope')).toBeUndefined();
      });

      it('keeps a site\'s settings, defaults filled in, and changes them field by field', async () => {
        const store = await fresh();
        const colors = { background: '#FFFFFF', text: '#000000', accent: '#1f6feb', accentText: '#ffffff' };
        const created = await store.createSite({
          siteKey: 'sk_1',
          name: 'Blog',
          origins: ['https://a.example'],
          createdAt: 7,
          settings: { maxShare: 0.6, runModules: [MODULE_A], message: 'Merci !', colors },
        });
        const settings = { ...DEFAULT_SITE_SETTINGS, maxShare: 0.6, runModules: [MODULE_A], message: 'Merci !', colors: { ...colors, background: '#ffffff' } };
        expect(created.settings).toEqual(settings);
        expect((await store.getSite('sk_1'))?.settings).toEqual(settings);

        const changed = await store.updateSite('sk_1', { name: 'Le blog', settings: { defaultShare: 0.3, colors: null, runModules: [MODULE_B, MODULE_A] } });
        const next = { ...settings, defaultShare: 0.3, colors: null, runModules: [MODULE_B, MODULE_A] };
        expect(changed).toEqual({ siteKey: 'sk_1', name: 'Le blog', origins: ['https://a.example'], createdAt: 7, owner: 'operator', settings: next });
        expect(await store.getSite('sk_1')).toEqual(changed);
        expect(await store.updateSite('sk_1', { origins: ['https://b.example'] })).toEqual({ ...changed, origins: ['https://b.example'] });
        expect(await store.updateSite('nope', { name: 'x' })).toBeUndefined();
      });

      it('refuses settings that break a rule or name a module never uploaded, changing nothing', async () => {
        const store = await fresh();
        const site = { siteKey: 'sk_1', name: 'Blog', origins: ['https://a.example'], createdAt: 7 };
        const unknown = 'c'.repeat(64);
        const refusal = async (promise: Promise<unknown>): Promise<string> => {
          const error = await promise.then(() => undefined, (e: unknown) => e);
          expect(error).toBeInstanceOf(CodedError);
          expect((error as CodedError).code).toBe('bad_request');
          return (error as CodedError).message;
        };
        expect(await refusal(store.createSite({ ...site, settings: { runModules: [MODULE_A, unknown] } }))).toMatch(
          new RegExp(`settings/runModules/1: no module ${unknown}`),
        );
        expect(await store.getSite('sk_1')).toBeUndefined();
        await store.createSite({ ...site, settings: { maxShare: 0.5, defaultShare: 0.5 } });
        // Merged with what is stored: 0.6 is within the schema but above the stored maxShare.
        expect(await refusal(store.updateSite('sk_1', { name: 'Other', settings: { defaultShare: 0.6 } }))).toMatch(/defaultShare \(0.6\) must not exceed settings\/maxShare \(0.5\)/);
        expect(await refusal(store.updateSite('sk_1', { settings: { colors: { background: '#ffffff', text: '#eeeeee', accent: '#000000', accentText: '#ffffff' } } }))).toMatch(/settings\/colors: text #eeeeee/);
        expect(await refusal(store.updateSite('sk_1', { settings: { runModules: [unknown] } }))).toMatch(/settings\/runModules\/0/);
        expect(await store.getSite('sk_1')).toEqual({ ...site, owner: 'operator', settings: { ...DEFAULT_SITE_SETTINGS, maxShare: 0.5 } });
      });
    });

    describe('jobs', () => {
      it('creates a job with one pending task per input and reports it', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { title: 'squares', purpose: 'Squares for a maths class', priority: 5, deadlineMs: 2500, maxAttempts: 4 }));
        expect(await store.getJob('j1')).toEqual({
          id: 'j1',
          state: 'active',
          module: MODULE_A,
          title: 'squares',
          purpose: 'Squares for a maths class',
          redundancy: 1,
          quorum: 1,
          adaptiveReplication: true,
          deadlineMs: 2500,
          maxAttempts: 4,
          priority: 5,
          createdAt: 100,
          owner: 'operator',
          open: false,
          counts: { total: 3, pending: 3, running: 0, completed: 0, failed: 0, cancelled: 0 },
        });
        expect(await store.getJob('missing')).toBeUndefined();
        const untitled = await store.createJob(job('j2')).then(() => store.getJob('j2'));
        expect(untitled).not.toHaveProperty('title');
        expect(untitled).not.toHaveProperty('purpose');
      });

      it('refuses an unknown module and a duplicate id, leaving nothing behind', async () => {
        const store = await fresh();
        expect(await codeOf(store.createJob(job('j1', { moduleHash: 'f'.repeat(64) })))).toBe('module_not_found');
        expect(await store.getJob('j1')).toBeUndefined();
        await store.createJob(job('j1'));
        expect(await codeOf(store.createJob(job('j1', { inputs: [bytes(9)] })))).toBe('conflict');
        expect((await store.getJob('j1'))?.counts.total).toBe(3);
      });

      it('creates a job of many inputs in batches and pages through its results in input order', async () => {
        const store = await fresh();
        const inputs = Array.from({ length: 2500 }, (_, i) => new Uint8Array([i & 255, i >> 8]));
        await store.createJob(job('big', { inputs }));
        expect((await store.getJob('big'))?.counts).toMatchObject({ total: 2500, pending: 2500 });
        const page = await store.listResults('big', 1998, 5);
        expect(page.map((r) => r.index)).toEqual([1998, 1999, 2000, 2001, 2002]);
        expect(page.every((r) => r.state === 'pending' && r.output === undefined && r.errors === undefined)).toBe(true);
        expect(await store.listResults('big', 2498, 10)).toHaveLength(2);
        expect(await store.listResults('big', 2500, 10)).toEqual([]);
        expect(await store.listResults('missing', 0, 10)).toEqual([]);
      });
    });

    describe('claims', () => {
      it('leases pending tasks in input order with the job deadline, and marks them running', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(10), bytes(11), bytes(12)], deadlineMs: 3000 }));
        const leases = await claim(store, 2, { now: 5000 });
        expect(leases.map((l) => [l.jobId, l.index, l.moduleHash, Array.from(l.input), l.deadline, l.deadlineMs])).toEqual([
          ['j1', 0, MODULE_A, [10], 8000, 3000],
          ['j1', 1, MODULE_A, [11], 8000, 3000],
        ]);
        expect(new Set(leases.map((l) => l.leaseId)).size).toBe(2);
        expect(new Set(leases.map((l) => l.taskId)).size).toBe(2);
        expect(leases.map((l) => [l.jobTitle, l.jobPurpose])).toEqual([[null, null], [null, null]]);
        expect((await store.getJob('j1'))?.counts).toMatchObject({ pending: 1, running: 2 });
        expect((await claim(store, 5)).map((l) => l.index)).toEqual([2]);
        expect(await claim(store, 5)).toEqual([]);
      });

      it("names the lease's job: its title and purpose travel with the lease", async () => {
        const store = await fresh();
        await store.createJob(job('j1', { title: 'Mandelbrot', purpose: 'Tiles of a poster <b>', inputs: [bytes(1)] }));
        const [lease] = await claim(store, 1);
        expect(lease).toMatchObject({ jobId: 'j1', jobTitle: 'Mandelbrot', jobPurpose: 'Tiles of a poster <b>' });
      });

      it('shares claims among jobs by priority weight, oldest first among equals', async () => {
        const store = await fresh();
        await store.createJob(job('heavy', { priority: 3, createdAt: 1, inputs: Array.from({ length: 10 }, (_, i) => bytes(i)) }));
        await store.createJob(job('light', { priority: 1, createdAt: 2, inputs: Array.from({ length: 10 }, (_, i) => bytes(i)) }));
        const leases = await claim(store, 8);
        const count = (id: string) => leases.filter((l) => l.jobId === id).length;
        expect([count('heavy'), count('light')]).toEqual([6, 2]);
      });

      it('gives a small job submitted behind a huge one the very next leases', async () => {
        const store = await fresh();
        await store.createJob(job('huge', { createdAt: 1, inputs: Array.from({ length: 50 }, (_, i) => bytes(i)) }));
        expect((await claim(store, 4, { volunteerId: 'vol-1' })).map((l) => l.jobId)).toEqual(['huge', 'huge', 'huge', 'huge']);
        await store.createJob(job('small', { createdAt: 2, inputs: [bytes(0), bytes(1)] }));
        expect((await claim(store, 2, { volunteerId: 'vol-2' })).map((l) => l.jobId)).toEqual(['small', 'small']);
      });

      it('prefers a job whose module the volunteer holds when fairness allows', async () => {
        const store = await fresh();
        await store.createJob(job('a', { createdAt: 1, inputs: [bytes(0), bytes(1)] }));
        await store.createJob(job('b', { createdAt: 2, moduleHash: MODULE_B, inputs: [bytes(0), bytes(1)] }));
        expect((await claim(store, 1, { volunteerId: 'vol-1', cached: [MODULE_B] })).map((l) => l.jobId)).toEqual(['b']);
        expect((await claim(store, 1, { volunteerId: 'vol-2' })).map((l) => l.jobId)).toEqual(['a']);
        expect((await claim(store, 1, { volunteerId: 'vol-3' })).map((l) => l.jobId)).toEqual(['a']);
      });

      it('never leases from cancelled or completed jobs, and an empty request gets nothing', async () => {
        const store = await fresh();
        await store.createJob(job('gone', { inputs: [bytes(0)] }));
        await store.cancelJob('gone', 10);
        await store.createJob(job('done', { inputs: [bytes(0)] }));
        const [lease] = await claim(store, 1);
        await outcome(store.completeLease({ leaseId: lease!.leaseId, volunteerId: 'vol-1', output: bytes(1), cpuMs: 3, now: 1100 }));
        expect(await claim(store, 4)).toEqual([]);
        await store.createJob(job('live', { inputs: [bytes(0)] }));
        expect(await claim(store, 0)).toEqual([]);
        expect((await claim(store, 4)).map((l) => l.jobId)).toEqual(['live']);
      });

      it('is atomic under concurrent calls: no task is handed out twice', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: Array.from({ length: 40 }, (_, i) => bytes(i)) }));
        await store.createJob(job('j2', { inputs: Array.from({ length: 20 }, (_, i) => bytes(i)), priority: 2 }));
        const batches = await Promise.all(
          Array.from({ length: 25 }, (_, i) => claim(store, 3, { volunteerId: `vol-${i}`, sessionId: `sess-${i}` })),
        );
        const all = batches.flat();
        expect(all).toHaveLength(60);
        expect(new Set(all.map((l) => l.taskId)).size).toBe(60);
        expect(new Set(all.map((l) => l.leaseId)).size).toBe(60);
        expect((await store.getJob('j1'))?.counts).toMatchObject({ pending: 0, running: 40 });
      });
    });

    describe('completing a lease', () => {
      it('keeps the output, completes the job with its last task, and fences everything after', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1), bytes(2)] }));
        const [a, b] = await claim(store, 2);
        const done = (leaseId: string, output: Uint8Array, volunteerId = 'vol-1') =>
          outcome(store.completeLease({ leaseId, volunteerId, output, cpuMs: 12.5, now: 1200 }));

        expect(await done(a!.leaseId, bytes(42))).toBe('accepted');
        expect(await done(a!.leaseId, bytes(42))).toBe('duplicate');
        expect(await done(a!.leaseId, bytes(43))).toBe('stale');
        expect(await outcome(store.failLease({ leaseId: a!.leaseId, volunteerId: 'vol-1', kind: 'trap', message: 'x', now: 1300 }))).toBe('stale');
        expect((await store.getJob('j1'))?.state).toBe('active');

        expect(await done(b!.leaseId, bytes(44), 'vol-2')).toBe('stale');
        expect(await done('no-such-lease', bytes(44))).toBe('stale');
        expect(await done(b!.leaseId, new Uint8Array())).toBe('accepted');

        const status = await store.getJob('j1');
        expect(status?.state).toBe('completed');
        expect(status?.counts).toEqual({ total: 2, pending: 0, running: 0, completed: 2, failed: 0, cancelled: 0 });
        const results = await store.listResults('j1', 0, 10);
        expect(results).toEqual([
          { index: 0, state: 'completed', output: bytes(42) },
          { index: 1, state: 'completed', output: new Uint8Array() },
        ]);
      });
    });

    describe('failing a lease', () => {
      it('records the reason and puts the task back; repeats are duplicates', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1)] }));
        const [lease] = await claim(store, 1);
        const fail = { leaseId: lease!.leaseId, volunteerId: 'vol-1', kind: 'trap' as const, message: 'unreachable', now: 1500 };
        expect(await outcome(store.failLease({ ...fail, volunteerId: 'vol-2' }))).toBe('stale');
        expect(await outcome(store.failLease(fail))).toBe('recorded');
        expect(await outcome(store.failLease(fail))).toBe('duplicate');
        expect(await outcome(store.failLease({ ...fail, kind: 'memory' }))).toBe('stale');
        expect(await outcome(store.completeLease({ leaseId: lease!.leaseId, volunteerId: 'vol-1', output: bytes(0), cpuMs: 1, now: 1600 }))).toBe('stale');
        expect(await store.listResults('j1', 0, 1)).toEqual([
          { index: 0, state: 'pending', errors: [{ attempt: 1, kind: 'trap', message: 'unreachable', at: 1500 }] },
        ]);
        const [again] = await claim(store, 1, { volunteerId: 'vol-2', sessionId: 'sess-2' });
        expect(again?.index).toBe(0);
        expect(again?.leaseId).not.toBe(lease!.leaseId);
      });

      it('fails the task after maxAttempts with every reason kept, and the job still completes', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1), bytes(2)], maxAttempts: 3 }));
        const kinds = ['trap', 'memory', 'invalid'] as const;
        for (const [i, kind] of kinds.entries()) {
          const leases = await claim(store, 2, { now: 2000 + i });
          const first = leases.find((l) => l.index === 0)!;
          expect(await outcome(store.failLease({ leaseId: first.leaseId, volunteerId: 'vol-1', kind, message: `m${i}`, now: 3000 + i }))).toBe('recorded');
          const second = leases.find((l) => l.index === 1);
          if (second) await outcome(store.completeLease({ leaseId: second.leaseId, volunteerId: 'vol-1', output: bytes(7), cpuMs: 1, now: 3000 }));
        }
        const [line] = await store.listResults('j1', 0, 1);
        expect(line).toEqual({
          index: 0,
          state: 'failed',
          errors: [
            { attempt: 1, kind: 'trap', message: 'm0', at: 3000 },
            { attempt: 2, kind: 'memory', message: 'm1', at: 3001 },
            { attempt: 3, kind: 'invalid', message: 'm2', at: 3002 },
          ],
        });
        expect(await claim(store, 2)).toEqual([]);
        const status = await store.getJob('j1');
        expect(status?.state).toBe('completed');
        expect(status?.counts).toMatchObject({ completed: 1, failed: 1, pending: 0, running: 0 });
      });
    });

    describe('expiring leases', () => {
      it('ends only leases whose deadline is before the cutoff, as counted timeout attempts', async () => {
        const store = await fresh();
        await store.createJob(job('short', { inputs: [bytes(1)], deadlineMs: 1000, maxAttempts: 1 }));
        await store.createJob(job('long', { inputs: [bytes(1)], deadlineMs: 60_000, createdAt: 200 }));
        const leases = await claim(store, 2, { now: 10_000 });
        const short = leases.find((l) => l.jobId === 'short')!;
        const long = leases.find((l) => l.jobId === 'long')!;

        expect(await store.expireLeases(11_000, 11_500)).toEqual([]);
        const ended = await store.expireLeases(11_001, 12_000);
        expect(ended).toEqual([{ leaseId: short.leaseId, volunteerId: 'vol-1', sessionId: 'sess-1', jobId: 'short' }]);
        expect(await store.expireLeases(11_001, 12_000)).toEqual([]);

        const [line] = await store.listResults('short', 0, 1);
        expect(line?.state).toBe('failed');
        expect(line?.errors).toHaveLength(1);
        expect(line?.errors?.[0]).toMatchObject({ attempt: 1, kind: 'timeout', at: 12_000 });
        expect(line?.errors?.[0]?.message).toMatch(/deadline/);
        expect((await store.getJob('short'))?.state).toBe('completed');
        expect(await outcome(store.completeLease({ leaseId: short.leaseId, volunteerId: 'vol-1', output: bytes(1), cpuMs: 1, now: 12_001 }))).toBe('stale');
        expect(await outcome(store.completeLease({ leaseId: long.leaseId, volunteerId: 'vol-1', output: bytes(1), cpuMs: 1, now: 12_001 }))).toBe('accepted');
      });

      it('puts an expired task back for another volunteer while attempts remain', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1)], deadlineMs: 100, maxAttempts: 2 }));
        const [first] = await claim(store, 1, { now: 0 });
        await store.expireLeases(1000, 1000);
        const [second] = await claim(store, 1, { volunteerId: 'vol-2', sessionId: 'sess-2', now: 1000 });
        expect(second?.taskId).toBe(first?.taskId);
        await store.expireLeases(2000, 2000);
        const [line] = await store.listResults('j1', 0, 1);
        expect(line?.state).toBe('failed');
        expect(line?.errors?.map((e) => [e.attempt, e.kind])).toEqual([
          [1, 'timeout'],
          [2, 'timeout'],
        ]);
      });
    });

    describe('releasing a session', () => {
      it("puts the session's tasks back without counting the attempt, keeping the reason", async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1), bytes(2), bytes(3)], maxAttempts: 1 }));
        const gone = await claim(store, 2, { sessionId: 'tab-1' });
        const [stays] = await claim(store, 1, { sessionId: 'tab-2' });

        const released = await store.releaseSession('tab-1', 5000);
        expect(released.map((l) => l.leaseId).sort()).toEqual(gone.map((l) => l.leaseId).sort());
        expect(released.every((l) => l.sessionId === 'tab-1' && l.volunteerId === 'vol-1')).toBe(true);
        expect(await store.releaseSession('tab-1', 5001)).toEqual([]);
        expect((await store.getJob('j1'))?.counts).toMatchObject({ pending: 2, running: 1 });

        for (const lease of gone) {
          expect(await outcome(store.completeLease({ leaseId: lease.leaseId, volunteerId: 'vol-1', output: bytes(0), cpuMs: 1, now: 5100 }))).toBe('stale');
        }
        expect(await outcome(store.completeLease({ leaseId: stays!.leaseId, volunteerId: 'vol-1', output: bytes(0), cpuMs: 1, now: 5100 }))).toBe('accepted');

        // maxAttempts is 1: the released attempt did not count, so one real attempt remains.
        const again = await claim(store, 2, { sessionId: 'tab-3', now: 6000 });
        expect(again.map((l) => l.index)).toEqual([0, 1]);
        await outcome(store.failLease({ leaseId: again[0]!.leaseId, volunteerId: 'vol-1', kind: 'trap', message: 'boom', now: 6100 }));
        const [line] = await store.listResults('j1', 0, 1);
        expect(line?.state).toBe('failed');
        expect(line?.errors?.map((e) => [e.attempt, e.kind, e.at])).toEqual([
          [1, 'released', 5000],
          [1, 'trap', 6100],
        ]);
      });
    });

    describe('adopting leases into a new session', () => {
      it("moves the volunteer's live leases from dead sessions, keeps its live ones, and names what moved", async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1), bytes(2), bytes(3), bytes(4), bytes(5)] }));
        const dead = await claim(store, 2, { sessionId: 'tab-dead' });
        const [live] = await claim(store, 1, { sessionId: 'tab-live' });
        const [answered] = await claim(store, 1, { sessionId: 'tab-dead' });
        const [someoneElses] = await claim(store, 1, { volunteerId: 'vol-2', sessionId: 'tab-other' });
        await store.completeLease({ leaseId: answered!.leaseId, volunteerId: 'vol-1', output: bytes(0), cpuMs: 1, now: 1100 });

        const adopted = await store.adoptLeases('vol-1', 'tab-new', ['tab-live']);
        expect(adopted.sort()).toEqual(dead.map((l) => l.leaseId).sort());
        expect(await store.adoptLeases('vol-1', 'tab-new', ['tab-live'])).toEqual([]);

        // The adopted leases end with the new session; the live one and another volunteer's stay.
        const released = await store.releaseSession('tab-new', 2000);
        expect(released.map((l) => l.leaseId).sort()).toEqual(adopted.sort());
        expect(await store.releaseSession('tab-dead', 2001)).toEqual([]);
        expect(await outcome(store.completeLease({ leaseId: live!.leaseId, volunteerId: 'vol-1', output: bytes(0), cpuMs: 1, now: 2100 }))).toBe('accepted');
        expect(await outcome(store.completeLease({ leaseId: someoneElses!.leaseId, volunteerId: 'vol-2', output: bytes(0), cpuMs: 1, now: 2100 }))).toBe('accepted');
      });
    });

    describe('volunteers vanishing with a task', () => {
      const vanish = (store: Store, volunteer: string, now: number) => store.releaseSession(`tab-${volunteer}`, now);
      const take = async (store: Store, volunteer: string, now: number) => {
        const [lease] = await claim(store, 1, { volunteerId: volunteer, sessionId: `tab-${volunteer}`, now });
        expect(lease?.index, `${volunteer} takes the task`).toBe(0);
        return lease!;
      };

      it('the first costs nothing; from the second distinct volunteer in a row each is a `crash` attempt, until the task fails', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1)], maxAttempts: 2 }));
        await take(store, 'a', 1000);
        expect((await vanish(store, 'a', 1100)).map((l) => l.volunteerId)).toEqual(['a']);
        expect((await store.getJob('j1'))?.counts).toMatchObject({ pending: 1, failed: 0 });
        await take(store, 'b', 1200);
        await vanish(store, 'b', 1300);
        expect((await store.getJob('j1'))?.counts).toMatchObject({ pending: 1, failed: 0 });
        await take(store, 'c', 1400);
        await vanish(store, 'c', 1500);
        const status = await store.getJob('j1');
        expect(status?.state).toBe('completed');
        expect(status?.counts).toMatchObject({ failed: 1, pending: 0, running: 0 });
        const [line] = await store.listResults('j1', 0, 1);
        expect(line?.state).toBe('failed');
        expect(line?.errors?.map((e) => [e.attempt, e.kind, e.at])).toEqual([
          [1, 'released', 1100],
          [1, 'crash', 1300],
          [2, 'crash', 1500],
        ]);
        expect(line?.errors?.[2]?.message).toMatch(/3rd distinct volunteer in a row/);
        // The victims' records carry no error for it.
        expect((await store.getVolunteer('c'))?.errors).toBe(0);
      });

      it('is no streak when the same volunteer vanishes again, when an answer came between, or when the connection ended on purpose', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1)], maxAttempts: 1 }));
        // The same volunteer twice (a reload, a flaky network): one volunteer, no streak.
        await take(store, 'a', 1000);
        await vanish(store, 'a', 1100);
        await take(store, 'a', 1200);
        await vanish(store, 'a', 1300);
        // Closed on purpose (its own disconnect, a shutdown, a restart): neither counts nor breaks.
        await take(store, 'b', 1400);
        await store.releaseSession('tab-b', 1500, 'ended');
        expect((await store.getJob('j1'))?.counts).toMatchObject({ pending: 1, failed: 0 });
        await take(store, 'c', 1600);
        await vanish(store, 'c', 1700);
        const [line] = await store.listResults('j1', 0, 1);
        expect(line?.state).toBe('failed');
        expect(line?.errors?.map((e) => e.kind)).toEqual(['released', 'released', 'released', 'crash']);

        // An answer between two vanishings (here a reported failure) ends the streak.
        await store.createJob(job('j2', { inputs: [bytes(1)], maxAttempts: 2, createdAt: 200 }));
        const first = await claim(store, 1, { volunteerId: 'd', sessionId: 'tab-d', now: 2000 });
        await vanish(store, 'd', 2100);
        const second = await claim(store, 1, { volunteerId: 'e', sessionId: 'tab-e', now: 2200 });
        expect([first[0]?.jobId, second[0]?.jobId]).toEqual(['j2', 'j2']);
        await outcome(store.failLease({ leaseId: second[0]!.leaseId, volunteerId: 'e', kind: 'trap', message: 'boom', now: 2300 }));
        await claim(store, 1, { volunteerId: 'f', sessionId: 'tab-f', now: 2400 });
        await vanish(store, 'f', 2500);
        const [after] = await store.listResults('j2', 0, 1);
        expect(after?.state).toBe('pending');
        expect(after?.errors?.map((e) => e.kind)).toEqual(['released', 'trap', 'released']);
      });
    });

    describe('cancelling a job', () => {
      it('cancels open tasks, revokes live leases and fences them', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1), bytes(2), bytes(3), bytes(4)] }));
        const leases = await claim(store, 2, { sessionId: 'tab-1' });
        await store.createJob(job('other', { inputs: [bytes(1)], createdAt: 500 }));
        const otherLease = (await claim(store, 3, { sessionId: 'tab-2', volunteerId: 'vol-2' })).find((l) => l.jobId === 'other');
        const [done, live] = leases;
        await outcome(store.completeLease({ leaseId: done!.leaseId, volunteerId: 'vol-1', output: bytes(5), cpuMs: 1, now: 1100 }));

        const cancelled = await store.cancelJob('j1', 1200);
        expect(cancelled?.revoked).toEqual(
          expect.arrayContaining([{ leaseId: live!.leaseId, volunteerId: 'vol-1', sessionId: 'tab-1', jobId: 'j1' }]),
        );
        expect(cancelled?.revoked.every((l) => l.leaseId !== otherLease?.leaseId)).toBe(true);
        const status = await store.getJob('j1');
        expect(status?.state).toBe('cancelled');
        expect(status?.counts).toEqual({ total: 4, pending: 0, running: 0, completed: 1, failed: 0, cancelled: 3 });
        expect((await store.listResults('j1', 0, 1))[0]).toEqual({ index: 0, state: 'completed', output: bytes(5) });

        expect(await outcome(store.completeLease({ leaseId: live!.leaseId, volunteerId: 'vol-1', output: bytes(1), cpuMs: 1, now: 1300 }))).toBe('stale');
        expect(await outcome(store.failLease({ leaseId: live!.leaseId, volunteerId: 'vol-1', kind: 'trap', message: 'x', now: 1300 }))).toBe('stale');
        expect(await store.releaseSession('tab-1', 1300)).toEqual([]);
        expect(await store.expireLeases(Number.MAX_SAFE_INTEGER, 1300)).toEqual([
          { leaseId: otherLease!.leaseId, volunteerId: 'vol-2', sessionId: 'tab-2', jobId: 'other' },
        ]);

        expect(await store.cancelJob('j1', 1400)).toEqual({ revoked: [] });
        expect(await store.cancelJob('missing', 1400)).toBeUndefined();
      });

      it('leaves a completed job completed', async () => {
        const store = await fresh();
        await store.createJob(job('j1', { inputs: [bytes(1)] }));
        const [lease] = await claim(store, 1);
        await outcome(store.completeLease({ leaseId: lease!.leaseId, volunteerId: 'vol-1', output: bytes(2), cpuMs: 1, now: 1100 }));
        expect(await store.cancelJob('j1', 1200)).toEqual({ revoked: [] });
        expect((await store.getJob('j1'))?.state).toBe('completed');
      });
    });

    describe('invariants under random schedules', () => {
      it('never has two live leases on a task, never loses a task, and every task ends terminal', async () => {
        const store = await fresh();
        type Op =
          | { op: 'claim'; volunteer: number; slots: number }
          | { op: 'complete' | 'fail' | 'wrong-volunteer'; pick: number }
          | { op: 'release'; volunteer: number }
          | { op: 'expire' }
          | { op: 'tick'; ms: number };
        const opArb: fc.Arbitrary<Op> = fc.oneof(
          fc.record({ op: fc.constant('claim' as const), volunteer: fc.nat(2), slots: fc.integer({ min: 1, max: 4 }) }),
          fc.record({ op: fc.constantFrom('complete' as const, 'fail' as const, 'wrong-volunteer' as const), pick: fc.nat(50) }),
          fc.record({ op: fc.constant('release' as const), volunteer: fc.nat(2) }),
          fc.record({ op: fc.constant('expire' as const) }),
          fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 800 }) }),
        );
        let run = 0;
        await fc.assert(
          fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
            const jobId = `prop-${++run}`;
            await store.createJob(job(jobId, { inputs: Array.from({ length: 6 }, (_, i) => bytes(i)), deadlineMs: 500, maxAttempts: 2 }));
            let now = 1000;
            const live = new Map<string, { taskId: string; volunteerId: string }>();
            const end = (leaseId: string) => live.delete(leaseId);
            for (const step of ops) {
              if (step.op === 'claim') {
                const volunteerId = `vol-${step.volunteer}`;
                for (const l of await claim(store, step.slots, { volunteerId, sessionId: volunteerId, now })) {
                  if (l.jobId !== jobId) continue;
                  expect([...live.values()].some((x) => x.taskId === l.taskId)).toBe(false);
                  live.set(l.leaseId, { taskId: l.taskId, volunteerId });
                }
              } else if (step.op === 'release') {
                (await store.releaseSession(`vol-${step.volunteer}`, now)).forEach((l) => end(l.leaseId));
              } else if (step.op === 'expire') {
                (await store.expireLeases(now, now)).forEach((l) => end(l.leaseId));
              } else if (step.op === 'tick') {
                now += step.ms;
              } else {
                const entries = [...live.entries()];
                if (entries.length === 0) continue;
                const [leaseId, held] = entries[step.pick % entries.length]!;
                if (step.op === 'wrong-volunteer') {
                  const answered = await outcome(store.completeLease({ leaseId, volunteerId: 'intruder', output: bytes(0), cpuMs: 1, now }));
                  expect(answered).toBe('stale');
                } else if (step.op === 'complete') {
                  const answered = await outcome(store.completeLease({ leaseId, volunteerId: held.volunteerId, output: bytes(1), cpuMs: 1, now }));
                  expect(answered).toBe('accepted');
                  end(leaseId);
                } else {
                  const answered = await outcome(store.failLease({ leaseId, volunteerId: held.volunteerId, kind: 'trap', message: 't', now }));
                  expect(answered).toBe('recorded');
                  end(leaseId);
                }
              }
              const counts = (await store.getJob(jobId))!.counts;
              expect(counts.pending + counts.running + counts.completed + counts.failed + counts.cancelled).toBe(6);
            }
            // Drain: everything left ends completed or failed.
            for (let round = 0; round < 20; round++) {
              for (const leaseId of live.keys()) {
                await outcome(store.completeLease({ leaseId, volunteerId: live.get(leaseId)!.volunteerId, output: bytes(1), cpuMs: 1, now }));
              }
              live.clear();
              const more = await claim(store, 6, { volunteerId: 'drain', sessionId: 'drain', now });
              more.filter((l) => l.jobId === jobId).forEach((l) => live.set(l.leaseId, { taskId: l.taskId, volunteerId: 'drain' }));
              if (live.size === 0) break;
            }
            const status = (await store.getJob(jobId))!;
            expect(status.state).toBe('completed');
            expect(status.counts.completed + status.counts.failed).toBe(6);
            for (const line of await store.listResults(jobId, 0, 10)) {
              if (line.state === 'failed') expect(line.errors?.filter((e) => e.kind !== 'released')).toHaveLength(2);
            }
          }),
          { numRuns: 25 },
        );
      });
    });
  });
}

function bytes(value: number): Uint8Array {
  return new Uint8Array([value & 255]);
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimAllowance, planClaim, queuedStart, type AllowanceInput, type ClaimJob, type ClaimTask, type PlanInput } from './claim-plan.ts';
import { PREFETCH_PER_WORKER } from './leases.ts';
import { DEFAULT_QUOTA, cooldownMs, newReputation, type Reputation } from './reputation.ts';

const NOW = 100_000;

const allowance = (fields: Partial<AllowanceInput>): AllowanceInput => ({
  now: NOW,
  asked: 4,
  volunteer: undefined,
  quota: DEFAULT_QUOTA,
  heldByVolunteer: 0,
  heldBySession: 0,
  awaitingVerdicts: 0,
  ...fields,
});

const record = (fields: Partial<Reputation & { struckAt: number }>) => ({ ...newReputation(), struckAt: 0, ...fields });

describe('claimAllowance', () => {
  it.each<[string, Partial<AllowanceInput>, ReturnType<typeof claimAllowance>]>([
    ['a new volunteer gets what it asks within the initial quota', { asked: 1 }, { grant: 1, reputation: newReputation(), fresh: true }],
    ['a new volunteer asking for more gets its initial quota: it earns the rest', { asked: 8 }, { grant: DEFAULT_QUOTA.initial, reputation: newReputation(), fresh: true }],
    [
      'a known volunteer is not fresh',
      { volunteer: record({ quota: 8 }) },
      { grant: 4, reputation: { ...newReputation(), quota: 8 }, fresh: false },
    ],
    ['cooling down: when to ask again', { volunteer: record({ strikes: 1, struckAt: NOW - 400 }) }, { empty: { reason: 'cooldown', retryAfterMs: cooldownMs(1) - 400 } }],
    [
      'the cool-down over: work again',
      { volunteer: record({ quota: 4, strikes: 1, struckAt: NOW - cooldownMs(1) }) },
      { grant: 4, reputation: { ...newReputation(), quota: 4, strikes: 1 }, fresh: false },
    ],
    ['at quota over its sessions', { volunteer: record({ quota: 2 }), heldByVolunteer: 2 }, { empty: { reason: 'quota' } }],
    ['its session full: every worker busy with one queued', { workers: 1, heldBySession: 1 + PREFETCH_PER_WORKER, heldByVolunteer: 2 }, { empty: { reason: 'quota' } }],
    [
      'a struck volunteer\'s answers awaiting a verdict count against its quota',
      { volunteer: record({ quota: 3, strikes: 1, struckAt: 1 }), heldByVolunteer: 1, awaitingVerdicts: 2 },
      { empty: { reason: 'quota' } },
    ],
    [
      'an unstruck volunteer\'s answers awaiting a verdict do not',
      { volunteer: record({ quota: 3 }), heldByVolunteer: 1, awaitingVerdicts: 2 },
      { grant: 2, reputation: { ...newReputation(), quota: 3 }, fresh: false },
    ],
  ])('%s', (_name, fields, expected) => {
    expect(claimAllowance(allowance(fields))).toEqual(expected);
  });
});

describe('queuedStart', () => {
  it.each<[string, number | undefined, number[], number]>([
    ['no workers announced: now', undefined, [NOW + 20_000, NOW + 30_000], NOW],
    ['a worker free: now', 2, [NOW + 20_000], NOW],
    ['one worker busy until 20 s: then', 1, [NOW + 20_000], NOW + 20_000],
    ['two workers, three leases: when the second earliest ends', 2, [NOW + 9_000, NOW + 3_000, NOW + 5_000], NOW + 5_000],
    ['a deadline already past: now', 1, [NOW - 1_000], NOW],
  ])('%s', (_name, workers, held, expected) => {
    expect(queuedStart(NOW, workers, held)).toBe(expected);
  });
});

const task = (idx: number, fields: Partial<ClaimTask> = {}): ClaimTask => ({ idx, live: 0, results: 0, wanted: 1, needed: 1, ...fields });

const job = (id: string, fields: Partial<ClaimJob> = {}): ClaimJob => ({
  id,
  moduleHash: `m-${id}`,
  priority: 1,
  live: 0,
  createdAt: 1,
  deadlineMs: 3_000,
  redundancy: 1,
  quorum: 1,
  adaptive: true,
  tasks: [task(0), task(1), task(2)],
  ...fields,
});

const plan = (fields: Partial<PlanInput>): PlanInput => ({
  now: NOW,
  grant: 2,
  reputation: newReputation(),
  sessionDeadlines: [],
  jobs: [job('a')],
  random: () => 0.5,
  ...fields,
});

describe('planClaim, by example', () => {
  it('leases tasks in index order with the job\'s deadline, each task one replica more', () => {
    expect(planClaim(plan({}))).toEqual({
      leases: [
        { jobId: 'a', idx: 0, deadline: NOW + 3_000, deadlineMs: 3_000, task: { live: 1, state: 'running', wanted: 1, needed: 1 } },
        { jobId: 'a', idx: 1, deadline: NOW + 3_000, deadlineMs: 3_000, task: { live: 1, state: 'running', wanted: 1, needed: 1 } },
      ],
    });
  });

  it('says there is no work when no job has a task for this volunteer', () => {
    expect(planClaim(plan({ jobs: [] }))).toEqual({ leases: [], empty: { reason: 'no_work' } });
    expect(planClaim(plan({ jobs: [job('a', { tasks: [] })] }))).toEqual({ leases: [], empty: { reason: 'no_work' } });
  });

  it('replicates a fresh task as its job says, and keeps an open task\'s target', () => {
    const replicated = job('r', { redundancy: 3, quorum: 2, tasks: [task(0), task(1, { live: 1, results: 1, wanted: 4, needed: 2 })] });
    expect(planClaim(plan({ jobs: [replicated] })).leases.map((l) => [l.idx, l.task])).toEqual([
      [0, { live: 1, state: 'pending', wanted: 3, needed: 2 }],
      [1, { live: 2, state: 'pending', wanted: 4, needed: 2 }],
    ]);
  });

  it('shares the grant fairly between jobs by priority', () => {
    const jobs = [job('a', { priority: 3, tasks: [0, 1, 2, 3].map((i) => task(i)) }), job('b', { createdAt: 2, tasks: [0, 1, 2, 3].map((i) => task(i)) })];
    const counts = planClaim(plan({ grant: 4, jobs })).leases.reduce<Record<string, number>>((c, l) => ({ ...c, [l.jobId]: (c[l.jobId] ?? 0) + 1 }), {});
    expect(counts).toEqual({ a: 3, b: 1 });
  });

  it('issue 9, item 7: a short lease queued behind another job\'s long one gets its deadline from when the worker frees', () => {
    // One worker runs a 20 s task of another job; the 3 s task queued behind it must not expire in the queue.
    const queued = planClaim(plan({ grant: 1, workers: 1, sessionDeadlines: [NOW + 20_000] }));
    expect(queued.leases.map((l) => [l.deadline, l.deadlineMs])).toEqual([[NOW + 23_000, 3_000]]);
    // Two slots at once on one worker: the first runs now, the second waits for the first.
    const both = planClaim(plan({ grant: 2, workers: 1 }));
    expect(both.leases.map((l) => l.deadline)).toEqual([NOW + 3_000, NOW + 6_000]);
    // A session that did not announce its workers: every deadline from now, as before.
    expect(planClaim(plan({ grant: 1, sessionDeadlines: [NOW + 20_000] })).leases[0]?.deadline).toBe(NOW + 3_000);
  });
});

describe('planClaim, as properties', () => {
  const arbitraryJob = (id: string) =>
    fc.record({
      priority: fc.integer({ min: 1, max: 5 }),
      live: fc.integer({ min: 0, max: 20 }),
      createdAt: fc.integer({ min: 0, max: 3 }),
      deadlineMs: fc.integer({ min: 100, max: 30_000 }),
      redundancy: fc.integer({ min: 1, max: 3 }),
      tasks: fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 10 }),
    }).map(({ tasks, ...fields }) => job(id, { ...fields, quorum: fields.redundancy, tasks: [...tasks].sort((a, b) => a - b).map((idx) => task(idx)) }));

  const arbitraryPlan = fc.record({
    grant: fc.integer({ min: 1, max: 8 }),
    workers: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
    sessionDeadlines: fc.array(fc.integer({ min: NOW - 5_000, max: NOW + 60_000 }), { maxLength: 8 }),
    jobs: fc.tuple(arbitraryJob('a'), arbitraryJob('b'), arbitraryJob('c')).chain((jobs) => fc.subarray(jobs)),
    draw: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  });

  it('never more leases than granted or claimable, never one task twice, each deadline at least its own length away', () => {
    fc.assert(
      fc.property(arbitraryPlan, ({ grant, workers, sessionDeadlines, jobs, draw }) => {
        const { leases, empty } = planClaim(plan({ grant, workers, sessionDeadlines, jobs, random: () => draw }));
        const claimable = jobs.reduce((n, j) => n + j.tasks.length, 0);
        expect(leases.length).toBe(Math.min(grant, claimable));
        expect(empty === undefined).toBe(leases.length > 0);
        expect(new Set(leases.map((l) => `${l.jobId}:${l.idx}`)).size).toBe(leases.length);
        for (const lease of leases) {
          const from = jobs.find((j) => j.id === lease.jobId)!;
          expect(from.tasks.some((t) => t.idx === lease.idx)).toBe(true);
          expect(lease.deadlineMs).toBe(from.deadlineMs);
          expect(lease.deadline).toBeGreaterThanOrEqual(NOW + lease.deadlineMs);
        }
      }),
    );
  });

  it('each lease\'s deadline is its own length after the first moment fewer than `workers` earlier leases can still run', () => {
    fc.assert(
      fc.property(arbitraryPlan, ({ grant, workers, sessionDeadlines, jobs }) => {
        const { leases } = planClaim(plan({ grant, workers, sessionDeadlines, jobs }));
        const held = [...sessionDeadlines];
        for (const lease of leases) {
          // Each earlier lease holds a worker at most until its deadline: the first instant from
          // now on at which fewer than `workers` of them may still be running.
          const free =
            workers === undefined
              ? NOW
              : Math.min(...[NOW, ...held].filter((t) => t >= NOW && held.filter((d) => d > t).length < workers));
          expect(lease.deadline).toBe(free + lease.deadlineMs);
          held.push(lease.deadline);
        }
      }),
    );
  });

  it('fair share: a job that could still take work is never passed over for one already further ahead', () => {
    fc.assert(
      fc.property(arbitraryPlan, ({ grant, jobs }) => {
        const { leases } = planClaim(plan({ grant, jobs, cached: [] }));
        const taken = new Map<string, number>();
        for (const lease of leases) taken.set(lease.jobId, (taken.get(lease.jobId) ?? 0) + 1);
        for (const a of jobs) {
          for (const b of jobs) {
            const tookA = taken.get(a.id) ?? 0;
            const tookB = taken.get(b.id) ?? 0;
            // b could have taken more: a's share after its last lease is at most b's next one.
            if (tookA === 0 || tookB >= Math.min(b.tasks.length, grant)) continue;
            expect((a.live + tookA) / a.priority).toBeLessThanOrEqual((b.live + tookB + 1) / b.priority + 1e-9);
          }
        }
      }),
    );
  });
});

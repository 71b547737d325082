import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openTaskState } from './quorum.ts';
import { applyReputationChange, isStrikeChange } from './reputation-change.ts';
import { DEFAULT_QUOTA, newReputation } from './reputation.ts';
import { RELEASES_PER_ATTEMPT, sourceOf } from './task-evidence.ts';
import {
  CPU_SLACK_MS,
  boundedCpuMs,
  decide,
  isOpenState,
  jobSourcesQuestion,
  type LeaseFacts,
  type Plan,
  type TaskEvent,
  type TaskView,
} from './task-machine.ts';

const lease = (over: Partial<LeaseFacts> = {}): LeaseFacts => ({
  id: 'L',
  volunteerId: 'v',
  sessionId: 's',
  jobId: 'j',
  state: 'active',
  issuedAt: 1_000,
  deadline: 61_000,
  endedAt: null,
  outputHash: null,
  errorKind: null,
  address: null,
  hasOutput: false,
  ...over,
});

const view = (task: Partial<TaskView['task']> = {}, more: Partial<TaskView> = {}, job: Partial<TaskView['job']> = {}): TaskView => ({
  task: { state: 'running', attempts: 1, live: 1, results: 0, wanted: 1, needed: 1, failures: 0, releases: 0, ...task },
  job: { redundancy: 1, quorum: 1, maxAttempts: 3, ...job },
  lease: lease(),
  others: [],
  trusted: new Set(),
  ...more,
});

const NOW = 2_000;
const EMPTY_PLAN: Plan = { verdicts: [], revoke: [], dropReplicaOutputs: false, reputation: [], settleJob: false, reopened: false };
const result = (outputHash: string, cpuMs = 5): TaskEvent => ({ kind: 'result', outputHash, cpuMs, now: NOW });
const trap: TaskEvent = { kind: 'failure', failure: 'trap', message: 'unreachable', now: NOW };
const vanished: TaskEvent = { kind: 'release', cause: 'vanished', now: NOW };
const ended: TaskEvent = { kind: 'release', cause: 'ended', now: NOW };

/** A replicated job (r = q = 2) with this task's two replicas out. */
const replicated = (task: Partial<TaskView['task']> = {}, others: LeaseFacts[] = []) =>
  view({ wanted: 2, needed: 2, live: 2, attempts: 2, ...task }, { others }, { redundancy: 2, quorum: 2 });

describe('task machine: results', () => {
  it('accepts a lone replica at once: completed with its output, the job checked, the volunteer credited', () => {
    const plan = decide(view(), result('H'));
    expect(plan.lease).toEqual({ state: 'completed', endedAt: NOW, cpuMs: 5, outputHash: 'H', verdict: 'unchecked' });
    expect(plan.task).toMatchObject({ state: 'completed', live: 0, results: 1, output: 'event', settled: true });
    expect(plan.reputation).toEqual([{ volunteerId: 'v', change: { kind: 'unchecked' } }]);
    expect(plan).toMatchObject({ settleJob: true, reopened: false, revoke: [], dropReplicaOutputs: false });
  });

  it('revokes the other live replicas of a task it completes', () => {
    const other = lease({ id: 'L2', volunteerId: 'w' });
    const plan = decide(view({ live: 2 }, { others: [other, lease({ id: 'L3', volunteerId: 'x', state: 'failed' })] }), result('H'));
    expect(plan.revoke.map((l) => l.id)).toEqual(['L2']);
  });

  it('keeps a first replica output for the quorum, the task waiting on its other replica', () => {
    const plan = decide(replicated({}, [lease({ id: 'L2', volunteerId: 'w' })]), result('H'));
    expect(plan.lease).toMatchObject({ state: 'completed', keepOutput: true });
    expect(plan.lease?.verdict).toBeUndefined();
    expect(plan.task).toEqual({ state: 'running', live: 1, results: 1, wanted: 2, history: [], settled: false });
    expect(plan).toMatchObject({ settleJob: false, reopened: false, reputation: [] });
  });

  it('accepts at quorum: agreeing replicas valid and credited, outputs dropped', () => {
    const first = lease({ id: 'L2', volunteerId: 'w', state: 'completed', endedAt: 1_500, outputHash: 'H', hasOutput: true });
    const plan = decide(replicated({ live: 1, results: 1 }, [first]), result('H'));
    expect(plan.lease?.verdict).toBe('valid');
    expect(plan.verdicts).toEqual([{ leaseId: 'L2', verdict: 'valid' }]);
    expect(plan.reputation.map((r) => [r.volunteerId, r.change.kind]).sort()).toEqual([['v', 'agreed'], ['w', 'agreed']]);
    expect(plan.task).toMatchObject({ state: 'completed', live: 0, results: 2, output: 'event', settled: true });
    expect(plan).toMatchObject({ dropReplicaOutputs: true, settleJob: true });
  });

  it('wants a tie-breaker on a disagreement: open for another volunteer', () => {
    const first = lease({ id: 'L2', volunteerId: 'w', state: 'completed', endedAt: 1_500, outputHash: 'H', hasOutput: true });
    const plan = decide(replicated({ live: 1, results: 1 }, [first]), result('LIE'));
    expect(plan.task).toEqual({ state: 'pending', live: 0, results: 2, wanted: 3, history: [], settled: false });
    expect(plan.reopened).toBe(true);
  });

  it('judges the liar once the tie-breaker agrees with the honest replica', () => {
    const honest = lease({ id: 'L2', volunteerId: 'w', state: 'completed', endedAt: 1_500, outputHash: 'H', hasOutput: true });
    const liar = lease({ id: 'L3', volunteerId: 'x', state: 'completed', endedAt: 1_600, outputHash: 'LIE', hasOutput: true, issuedAt: 900 });
    const plan = decide(replicated({ live: 1, results: 2, wanted: 3 }, [honest, liar]), result('H'));
    expect(plan.verdicts).toEqual([
      { leaseId: 'L2', verdict: 'valid' },
      { leaseId: 'L3', verdict: 'invalid' },
    ]);
    expect(plan.reputation).toContainEqual({ volunteerId: 'x', change: { kind: 'disagreed', issuedAt: 900 } });
    expect(plan.task).toMatchObject({ state: 'completed', results: 3 });
  });

  it('fails as no quorum once no output can reach it', () => {
    const others = ['A', 'B', 'C', 'D'].map((hash, i) =>
      lease({ id: `L${i}`, volunteerId: `w${i}`, state: 'completed', endedAt: 1_000 + i, outputHash: hash, hasOutput: true }),
    );
    const plan = decide(replicated({ live: 1, results: 4, wanted: 5, attempts: 5 }, others), result('E'));
    expect(plan.task).toMatchObject({ state: 'failed', live: 0, results: 5, settled: true });
    expect(plan.task?.history).toEqual([{ attempt: 5, kind: 'no_quorum', message: expect.stringMatching(/^no quorum: 5 results/), at: NOW }]);
    expect(plan).toMatchObject({ dropReplicaOutputs: true, settleJob: true, reputation: [] });
  });
});

describe('task machine: cpuMs', () => {
  it.each([
    ['a claim within the held time', 1_500, 1_000, 3_000, 1_500],
    ['a day on a lease held 2 s', 86_400_000, 1_000, 3_000, 2_000 + CPU_SLACK_MS],
    ['a clock that went backwards', 5_000, 3_000, 2_000, CPU_SLACK_MS],
    ['fractions rounded', 12.5, 0, 100, 13],
  ])('%s', (_, cpuMs, issuedAt, now, expected) => {
    expect(boundedCpuMs(cpuMs, issuedAt, now)).toBe(expected);
  });

  it('bounds what a result records by the time its lease was held', () => {
    const plan = decide(view({}, { lease: lease({ issuedAt: NOW - 250 }) }), result('H', 86_400_000));
    expect(plan.lease?.cpuMs).toBe(250 + CPU_SLACK_MS);
  });
});

describe('task machine: failures, expiries, releases', () => {
  it('reopens a task after a reported failure, fresh when nothing else is out', () => {
    const plan = decide(view({ wanted: 1, needed: 1 }, {}, { redundancy: 2, quorum: 2 }), trap);
    expect(plan.lease).toEqual({ state: 'failed', endedAt: NOW, errorKind: 'trap', errorMessage: 'unreachable' });
    expect(plan.task).toEqual({ state: 'pending', live: 0, wanted: 2, needed: 2, failures: 1, history: [{ attempt: 1, kind: 'trap', message: 'unreachable', at: NOW }], settled: false });
    expect(plan.reputation).toEqual([{ volunteerId: 'v', change: { kind: 'error', cause: 'trap', issuedAt: 1_000 } }]);
    expect(plan.reopened).toBe(true);
  });

  it('fails the task on its last allowed attempt (leases without an address are sources of their own)', () => {
    const earlier = [lease({ id: 'F1', state: 'failed' }), lease({ id: 'F2', state: 'expired' })];
    const v = view({ failures: 2, attempts: 3 }, { others: earlier });
    expect(jobSourcesQuestion(v, trap)).toBeUndefined();
    const plan = decide(v, trap);
    expect(plan.task).toMatchObject({ state: 'failed', live: 0, failures: 3, settled: true });
    expect(plan.settleJob).toBe(true);
  });

  it('expires a lease: a counted timeout and a strike', () => {
    const plan = decide(view(), { kind: 'expiry', now: NOW });
    expect(plan.lease).toMatchObject({ state: 'expired', errorKind: 'timeout', errorMessage: `deadline passed: no answer by ${new Date(61_000).toISOString()} (lease L)` });
    expect(plan.reputation[0]?.change).toEqual({ kind: 'error', cause: 'expired', issuedAt: 1_000 });
    expect(isStrikeChange(plan.reputation[0]!.change)).toBe(true);
    expect(plan.task).toMatchObject({ state: 'pending', failures: 1 });
  });

  it('does not count a first disconnect: the attempt number is reused', () => {
    const plan = decide(view({ attempts: 2 }), vanished);
    expect(plan.lease).toMatchObject({ state: 'released', errorKind: 'released' });
    expect(plan.task).toMatchObject({ state: 'pending', releases: 1, attempts: 1 });
    expect(plan.task?.failures).toBeUndefined();
    expect(plan.reputation).toEqual([]);
  });

  it('counts a disconnect that continues a streak as a crash, sparing the volunteer', () => {
    const before = lease({ id: 'R1', volunteerId: 'w', state: 'released', errorKind: 'released', endedAt: 1_500 });
    const plan = decide(view({ attempts: 2, releases: 1 }, { others: [before] }), vanished);
    expect(plan.lease).toMatchObject({ state: 'failed', errorKind: 'crash', errorMessage: expect.stringMatching(/2nd distinct volunteer/) });
    expect(plan.task).toMatchObject({ state: 'pending', failures: 1 });
    expect(plan.reputation).toEqual([]);
  });

  it('tells a release on purpose (`ended`) apart: no streak, kind `ended`', () => {
    const before = lease({ id: 'R1', volunteerId: 'w', state: 'released', errorKind: 'released', endedAt: 1_500 });
    const plan = decide(view({ attempts: 2, releases: 1 }, { others: [before] }), ended);
    expect(plan.lease).toMatchObject({ state: 'released', errorKind: 'ended' });
    expect(plan.task).toMatchObject({ releases: 2 });
  });

  it('fails a task released too often, saying why', () => {
    const plan = decide(view({ releases: 3 * RELEASES_PER_ATTEMPT - 1 }), ended);
    expect(plan.task).toMatchObject({ state: 'failed', releases: 3 * RELEASES_PER_ATTEMPT, settled: true });
    expect(plan.task?.history.map((e) => e.message).at(-1)).toMatch(/^released 30 times/);
  });
});

describe('task machine: the per-address rule', () => {
  const fromOneAddress = (n: number) =>
    Array.from({ length: n }, (_, i) => lease({ id: `F${i}`, volunteerId: `throwaway-${i}`, state: 'failed', address: '203.0.113.7' }));
  const attacked = (more: Partial<TaskView> = {}) =>
    view({ failures: 2, attempts: 3 }, { lease: lease({ volunteerId: 'throwaway-9', address: '203.0.113.7' }), others: fromOneAddress(2), ...more });

  it('asks whether another source worked on the job when all failures share an address', () => {
    expect(jobSourcesQuestion(attacked(), trap)?.map((w) => w.address)).toEqual(['203.0.113.7', '203.0.113.7', '203.0.113.7']);
    expect(() => decide(attacked(), trap)).toThrow(/other sources/);
  });

  it('keeps the task open while another source works on the job', () => {
    const plan = decide({ ...attacked(), otherSourceInJob: true }, trap);
    expect(plan.task).toMatchObject({ state: 'pending', failures: 3 });
    expect(plan.settleJob).toBe(false);
  });

  it('fails it when that address is the whole grid the job has seen (one local volunteer)', () => {
    expect(decide({ ...attacked(), otherSourceInJob: false }, trap).task).toMatchObject({ state: 'failed', failures: 3 });
  });

  it('fails it at once on failures from distinct addresses, or from trusted volunteers', () => {
    const spread = view(
      { failures: 2, attempts: 3 },
      { lease: lease({ address: '10.0.0.3' }), others: [lease({ id: 'F1', volunteerId: 'a', state: 'failed', address: '10.0.0.1' }), lease({ id: 'F2', volunteerId: 'b', state: 'expired', address: '10.0.0.2' })] },
    );
    expect(jobSourcesQuestion(spread, trap)).toBeUndefined();
    expect(decide(spread, trap).task?.state).toBe('failed');
    const veterans = attacked({ trusted: new Set(['throwaway-0', 'throwaway-1', 'throwaway-9']) });
    expect(jobSourcesQuestion(veterans, trap)).toBeUndefined();
    expect(decide(veterans, trap).task?.state).toBe('failed');
  });

  it('applies to crashes too', () => {
    const crashes = view(
      { failures: 1, attempts: 2, releases: 1 },
      {
        lease: lease({ volunteerId: 'c', address: '203.0.113.7' }),
        others: [
          lease({ id: 'R', volunteerId: 'a', state: 'released', errorKind: 'released', endedAt: 1_100, address: '203.0.113.7' }),
          lease({ id: 'C', volunteerId: 'b', state: 'failed', errorKind: 'crash', endedAt: 1_200, address: '203.0.113.7' }),
        ],
      },
      { maxAttempts: 2 },
    );
    expect(jobSourcesQuestion(crashes, vanished)).toHaveLength(2);
    expect(decide({ ...crashes, otherSourceInJob: true }, vanished).task?.state).toBe('pending');
    expect(decide({ ...crashes, otherSourceInJob: false }, vanished).task?.state).toBe('failed');
  });
});

describe('task machine: fencing, terminal tasks, cancel', () => {
  it.each(['completed', 'failed', 'expired', 'released', 'revoked'])('plans nothing for a %s lease', (state) => {
    for (const event of [result('H'), trap, { kind: 'expiry', now: NOW } as const, vanished, ended]) {
      expect(decide(view({}, { lease: lease({ state }) }), event)).toEqual(EMPTY_PLAN);
    }
  });

  it('ends the lease of a task already settled without touching the task', () => {
    const plan = decide(view({ state: 'completed', live: 0 }), trap);
    expect(plan.lease?.state).toBe('failed');
    expect(plan.reputation).toHaveLength(1);
    expect(plan.task).toBeUndefined();
  });

  it('cancels an open task, revoking its live replicas', () => {
    const others = [lease({ id: 'L2', volunteerId: 'w' }), lease({ id: 'L3', volunteerId: 'x', state: 'completed' })];
    const plan = decide(view({ live: 2 }, { others }), { kind: 'cancel', now: NOW });
    expect(plan.revoke.map((l) => l.id)).toEqual(['L', 'L2']);
    expect(plan.task).toMatchObject({ state: 'cancelled', live: 0 });
    expect(decide(view({ state: 'failed' }), { kind: 'cancel', now: NOW }).task).toBeUndefined();
  });

  it('applies reputation changes with the pure rules', () => {
    const rep = newReputation(DEFAULT_QUOTA);
    expect(applyReputationChange(rep, 0, { kind: 'agreed' }, DEFAULT_QUOTA)).toMatchObject({ valid: 1, consecutiveValid: 1 });
    expect(applyReputationChange(rep, 0, { kind: 'unchecked' }, DEFAULT_QUOTA)).toMatchObject({ unchecked: 1 });
    expect(applyReputationChange(rep, 500, { kind: 'disagreed', issuedAt: 900 }, DEFAULT_QUOTA)).toMatchObject({ invalid: 1, strikes: 1 });
    expect(applyReputationChange(rep, 0, { kind: 'error', cause: 'trap', issuedAt: 1 }, DEFAULT_QUOTA)).toMatchObject({ errors: 1, strikes: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Properties: a task driven by random claims and events through the machine, its plans applied
// to an in-memory copy of the rows as the store applies them.

interface Model {
  view: TaskView;
  leases: LeaseFacts[];
  settledTimes: number;
  history: number;
}

const VOLUNTEERS = ['v0', 'v1', 'v2', 'v3', 'v4', 'v5'];

type Step =
  | { op: 'claim'; volunteer: number; address: number }
  | { op: 'event'; pick: number; event: 'result' | 'trap' | 'expiry' | 'vanished' | 'ended' | 'cancel'; hash: number; cpuMs: number; anyLease: boolean };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('claim' as const), volunteer: fc.nat(VOLUNTEERS.length - 1), address: fc.nat(3) }),
  fc.record({
    op: fc.constant('event' as const),
    pick: fc.nat(20),
    event: fc.constantFrom('result', 'result', 'trap', 'expiry', 'vanished', 'ended', 'cancel'),
    hash: fc.nat(2),
    cpuMs: fc.nat(86_400_000),
    anyLease: fc.boolean(),
  }),
);

const settingsArb = fc
  .integer({ min: 1, max: 3 })
  .chain((redundancy) => fc.record({ redundancy: fc.constant(redundancy), quorum: fc.integer({ min: 1, max: redundancy }), maxAttempts: fc.integer({ min: 1, max: 4 }) }));

/** Addresses 0..2 are real ones; 3 stands for "unknown" (a lease from before addresses). */
const addressOf = (n: number): string | null => (n === 3 ? null : `10.0.0.${n}`);

function initial(job: TaskView['job']): Model {
  return {
    view: { task: { state: 'pending', attempts: 0, live: 0, results: 0, wanted: job.redundancy, needed: job.quorum, failures: 0, releases: 0 }, job, others: [], trusted: new Set() },
    leases: [],
    settledTimes: 0,
    history: 0,
  };
}

/** The claim side of the store, reduced to one task: one live or answered replica per volunteer. */
function claim(model: Model, volunteerId: string, address: string | null, now: number): void {
  const task = model.view.task;
  if (task.state !== 'pending') return;
  if (model.leases.some((l) => l.volunteerId === volunteerId && (l.state === 'active' || l.state === 'completed'))) return;
  const live = task.live + 1;
  model.leases.push(lease({ id: `L${model.leases.length}`, volunteerId, issuedAt: now, deadline: now + 100, address }));
  Object.assign(task, { live, attempts: task.attempts + 1, state: openTaskState({ live, results: task.results, wanted: task.wanted }) });
}

/** The job here is this one task: any lease of another source is another source in the job. */
function otherSourceInJob(model: Model, witnesses: ReturnType<typeof jobSourcesQuestion>): boolean {
  const failing = new Set((witnesses ?? []).map(sourceOf));
  return model.leases.some((l) => !failing.has(sourceOf({ leaseId: l.id, volunteerId: l.volunteerId, address: l.address, trusted: false })));
}

function apply(model: Model, target: LeaseFacts | undefined, plan: Plan, now: number): void {
  if (plan.lease && target) {
    Object.assign(target, { state: plan.lease.state, endedAt: plan.lease.endedAt, errorKind: plan.lease.errorKind ?? target.errorKind });
    if (plan.lease.outputHash !== undefined) target.outputHash = plan.lease.outputHash;
    if (plan.lease.keepOutput) target.hasOutput = true;
  }
  for (const revoked of plan.revoke) {
    const row = model.leases.find((l) => l.id === revoked.id);
    if (row?.state === 'active') Object.assign(row, { state: 'revoked', endedAt: now });
  }
  if (plan.dropReplicaOutputs) for (const row of model.leases) row.hasOutput = false;
  if (plan.task) {
    const { history, output: _output, settled, ...fields } = plan.task;
    Object.assign(model.view.task, fields);
    model.history += history.length;
    if (settled) model.settledTimes++;
  }
}

/** What the checks see of the lease an event was for, as it was before. */
interface Target {
  state: string;
  issuedAt: number;
}

function run(job: TaskView['job'], steps: readonly Step[], check: (model: Model, plan: Plan, step: Step, before: Model, target: Target | undefined) => void): Model {
  const model = initial(job);
  let now = 1_000;
  for (const step of steps) {
    now += 10;
    if (step.op === 'claim') {
      claim(model, VOLUNTEERS[step.volunteer]!, addressOf(step.address), now);
      continue;
    }
    const pool = step.anyLease ? model.leases : model.leases.filter((l) => l.state === 'active');
    const target = step.event === 'cancel' ? undefined : pool[step.pick % Math.max(1, pool.length)];
    const event: TaskEvent =
      step.event === 'result' ? { kind: 'result', outputHash: `H${step.hash}`, cpuMs: step.cpuMs, now }
      : step.event === 'trap' ? { kind: 'failure', failure: 'trap', message: 'unreachable', now }
      : step.event === 'expiry' ? { kind: 'expiry', now }
      : step.event === 'cancel' ? { kind: 'cancel', now }
      : { kind: 'release', cause: step.event, now };
    const others = model.leases.filter((l) => l !== target).map((l) => ({ ...l }));
    const v: TaskView = { ...model.view, task: { ...model.view.task }, ...(target ? { lease: { ...target } } : {}), others };
    const question = jobSourcesQuestion(v, event);
    if (question) v.otherSourceInJob = otherSourceInJob(model, question);
    const before = structuredClone({ ...model, view: { ...model.view, trusted: undefined } }) as unknown as Model;
    const was = target && { state: target.state, issuedAt: target.issuedAt };
    const plan = decide(v, event);
    apply(model, target, plan, now);
    check(model, plan, step, before, was);
  }
  return model;
}

const TERMINAL = ['completed', 'failed', 'cancelled'];

describe('task machine properties', () => {
  it('a terminal task stays as it ended, settled once, with no live lease; an open one counts its live leases right', () => {
    fc.assert(
      fc.property(settingsArb, fc.array(stepArb, { maxLength: 60 }), (job, steps) => {
        run(job, steps, (model, plan, _step, before) => {
          if (TERMINAL.includes(before.view.task.state)) {
            expect(plan.task).toBeUndefined();
            expect(model.view.task.state).toBe(before.view.task.state);
          }
          expect(model.settledTimes).toBeLessThanOrEqual(1);
          if (isOpenState(model.view.task.state)) expect(model.view.task.live).toBe(model.leases.filter((l) => l.state === 'active').length);
          else expect(model.leases.filter((l) => l.state === 'active')).toEqual([]);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('accepts a replicated output only with q agreeing distinct volunteers', () => {
    fc.assert(
      fc.property(settingsArb, fc.array(stepArb, { maxLength: 60 }), (job, steps) => {
        run(job, steps, (model, plan) => {
          if (plan.task?.state !== 'completed') return;
          const accepted = plan.lease?.outputHash && plan.task.output === 'event' ? plan.lease.outputHash : undefined;
          if (model.view.task.needed <= 1 || !accepted) return;
          const agreeing = new Set(model.leases.filter((l) => l.state === 'completed' && l.outputHash === accepted).map((l) => l.volunteerId));
          expect(agreeing.size).toBeGreaterThanOrEqual(model.view.task.needed);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('fails on counted failures only after maxAttempts of them, and at exactly maxAttempts when their sources are distinct', () => {
    fc.assert(
      fc.property(settingsArb, fc.array(stepArb, { maxLength: 60 }), (job, steps) => {
        run(job, steps, (model, plan) => {
          const counted = plan.task?.failures !== undefined;
          if (!counted) return;
          const failures = model.view.task.failures;
          if (plan.task?.state === 'failed') expect(failures).toBeGreaterThanOrEqual(job.maxAttempts);
          const witnesses = model.leases.filter((l) => l.state === 'failed' || l.state === 'expired');
          const sources = new Set(witnesses.map((l) => sourceOf({ leaseId: l.id, volunteerId: l.volunteerId, address: l.address, trusted: false })));
          if (sources.size === witnesses.length) expect(failures).toBeLessThanOrEqual(job.maxAttempts);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('changes nothing for a fenced lease, and records no more CPU than the lease was held', () => {
    fc.assert(
      fc.property(settingsArb, fc.array(stepArb, { maxLength: 60 }), (job, steps) => {
        run(job, steps, (model, plan, step, before, target) => {
          if (step.op !== 'event' || step.event === 'cancel' || !target) return;
          if (target.state !== 'active') {
            expect(plan).toEqual(EMPTY_PLAN);
            expect(model.view.task).toEqual(before.view.task);
          }
          if (plan.lease?.cpuMs !== undefined) expect(plan.lease.cpuMs).toBeLessThanOrEqual(Math.max(0, plan.lease.endedAt - target.issuedAt) + CPU_SLACK_MS);
        });
      }),
      { numRuns: 300 },
    );
  });
});

/**
 * The task state machine, as one pure function: a task's view and an event in, a plan of writes
 * out. The store reads the view inside its transaction, asks `decide`, and applies the plan.
 *
 * Task states:
 *   pending ──claim (store)──▶ running            (every replica it wants is live or answered)
 *   pending | running ──result──▶ completed       (quorum reached: other live replicas revoked)
 *                     ──result──▶ pending | running (waiting for more agreeing replicas)
 *                     ──result──▶ failed          (no quorum can be reached any more)
 *                     ──failure | expiry──▶ pending | running, or failed (`afterCountedFailure`)
 *                     ──release (vanished, first of a streak) | release (ended)──▶ pending |
 *                        running, the attempt not counted; failed after `RELEASES_PER_ATTEMPT ×
 *                        maxAttempts` releases
 *                     ──release (vanished, continuing a streak)──▶ as a failure of kind `crash`
 *                     ──cancel──▶ cancelled        (live replicas revoked)
 *   completed | failed | cancelled: terminal; an event still ends its lease, the task stays.
 * A task with no live replica and no result left starts over from its job's redundancy and
 * quorum ("fresh"), so the next claim decides its replication afresh.
 *
 * Fencing: an event for a lease that is no longer `active` (answered, expired, released,
 * revoked) plans nothing at all; the store answers such requests `stale` or `duplicate` before.
 */
import type { FailureKind } from '../protocol/events.ts';
import { judge, openTaskState } from './quorum.ts';
import type { ReputationChange } from './reputation-change.ts';
import { afterCountedFailure, afterRelease, afterVanishing, needsJobSources, type FailureWitness, type LeaseEnding } from './task-evidence.ts';

export type TaskState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Why a lease is taken back unanswered: its connection dropped, or was closed on purpose. */
export type ReleaseCause = 'vanished' | 'ended';

/** One lease of the task, as the machine needs it (no output bytes: `hasOutput` says if kept). */
export interface LeaseFacts {
  id: string;
  volunteerId: string;
  sessionId: string;
  jobId: string;
  /** `active` | `completed` | `failed` | `expired` | `released` | `revoked`. */
  state: string;
  issuedAt: number;
  deadline: number;
  endedAt: number | null;
  outputHash: string | null;
  errorKind: string | null;
  /** The volunteer's normalised address when leased (`socket/address.ts`); null when unknown. */
  address: string | null;
  /** Whether the lease still holds its replica output (waiting for a quorum). */
  hasOutput: boolean;
}

/** A task as its transitions see it. */
export interface TaskView {
  task: {
    state: TaskState;
    /** Attempts issued (claims), the one numbering its history entries. */
    attempts: number;
    live: number;
    results: number;
    wanted: number;
    needed: number;
    failures: number;
    releases: number;
  };
  job: { redundancy: number; quorum: number; maxAttempts: number };
  /** The lease the event ends (absent for `cancel`, or when no such lease exists). */
  lease?: LeaseFacts;
  /** The task's other leases, in any state. */
  others: readonly LeaseFacts[];
  /** Trusted volunteers (`isTrusted`) among those of the task's failed leases and `lease`. */
  trusted: ReadonlySet<string>;
  /**
   * Whether some lease of the job came from a source other than the task's failing ones (see
   * `task-evidence.ts`); read only when `jobSourcesQuestion` asks for it.
   */
  otherSourceInJob?: boolean;
}

/** What happened to the task. */
export type TaskEvent =
  | { kind: 'result'; outputHash: string; cpuMs: number; now: number }
  | { kind: 'failure'; failure: FailureKind; message: string; now: number }
  | { kind: 'expiry'; now: number }
  | { kind: 'release'; cause: ReleaseCause; now: number }
  | { kind: 'cancel'; now: number };

/** One entry of a task's history of unanswered attempts (`protocol/http.ts`'s `TaskError`). */
export interface HistoryEntry {
  attempt: number;
  kind: string;
  message: string;
  at: number;
}

/** The write to the lease the event ends. */
export interface LeaseWrite {
  state: 'completed' | 'failed' | 'expired' | 'released';
  endedAt: number;
  cpuMs?: number;
  outputHash?: string;
  verdict?: 'unchecked' | 'valid' | 'invalid';
  /** Keep the event's output on the lease: a replica waiting for a quorum. */
  keepOutput?: boolean;
  errorKind?: string;
  errorMessage?: string;
}

/** The write to the task row. */
export interface TaskWrite {
  state: TaskState;
  live: number;
  results?: number;
  wanted?: number;
  needed?: number;
  attempts?: number;
  failures?: number;
  releases?: number;
  /** Entries to append to the task's history. */
  history: HistoryEntry[];
  /** The accepted output: the event's, or the one kept on another lease. */
  output?: 'event' | { leaseId: string };
  /** Terminal now: takes the next place in the job's completion order. */
  settled: boolean;
}

/** The writes an event leads to. */
export interface Plan {
  lease?: LeaseWrite;
  /** Verdicts for the task's other answered leases once a quorum judged them. */
  verdicts: { leaseId: string; verdict: 'valid' | 'invalid' }[];
  /** Live replicas to revoke (and tell their holders). */
  revoke: LeaseFacts[];
  /** Drop replica outputs kept while the quorum was open. */
  dropReplicaOutputs: boolean;
  task?: TaskWrite;
  reputation: { volunteerId: string; change: ReputationChange }[];
  /** A task of the job became terminal: the job may be complete. */
  settleJob: boolean;
  /** The task wants another replica now: idle volunteers may be told. */
  reopened: boolean;
}

/** Slack on top of the held time a result's `cpuMs` may claim: clocks tick in coarse steps. */
export const CPU_SLACK_MS = 1_000;

/**
 * The CPU time a result may claim: at most the wall time its lease was held plus `CPU_SLACK_MS`
 * (one lease runs in one worker), never negative, in whole milliseconds.
 */
export function boundedCpuMs(cpuMs: number, issuedAt: number, now: number): number {
  const held = Math.max(0, now - issuedAt) + CPU_SLACK_MS;
  return Math.round(Math.max(0, Math.min(cpuMs, held)));
}

/** Lease `error_kind` of a disconnect that counted as a crash (the lease state is `failed`). */
export const CRASH = 'crash';
/** Lease `error_kind` of a release with cause `ended`: no evidence about the task either way. */
export const ENDED = 'ended';

const OPEN: readonly TaskState[] = ['pending', 'running'];
export const isOpenState = (state: string): boolean => (OPEN as readonly string[]).includes(state);

const nothing = (): Plan => ({ verdicts: [], revoke: [], dropReplicaOutputs: false, reputation: [], settleJob: false, reopened: false });

/** The plan for `event` on the task of `view`. */
export function decide(view: TaskView, event: TaskEvent): Plan {
  if (event.kind === 'cancel') return cancel(view);
  const lease = view.lease;
  if (!lease || lease.state !== 'active') return nothing();
  switch (event.kind) {
    case 'result':
      return result(view, lease, event);
    case 'failure':
      return counted(view, lease, 'failed', event.failure, event.message, event.now);
    case 'expiry':
      return counted(view, lease, 'expired', 'timeout', `deadline passed: no answer by ${new Date(lease.deadline).toISOString()} (lease ${lease.id})`, event.now);
    case 'release':
      return release(view, lease, event.cause, event.now);
  }
}

/**
 * What the store must read before `decide` for this event, beyond the task and its leases: the
 * failing sources to look for other sources in the job, or undefined when it cannot matter.
 */
export function jobSourcesQuestion(view: TaskView, event: TaskEvent): FailureWitness[] | undefined {
  const lease = view.lease;
  if (!lease || lease.state !== 'active' || !isOpenState(view.task.state)) return undefined;
  const countsAsFailure =
    event.kind === 'failure' || event.kind === 'expiry' || (event.kind === 'release' && event.cause === 'vanished' && vanishing(view, lease).verdict === 'crash');
  if (!countsAsFailure) return undefined;
  const witnesses = failureWitnesses(view, lease);
  return needsJobSources(view.task.failures + 1, witnesses, view.job.maxAttempts) ? witnesses : undefined;
}

/** The task's counted failures (failed or expired leases), the lease being failed included. */
function failureWitnesses(view: TaskView, lease: LeaseFacts): FailureWitness[] {
  return [...view.others.filter((l) => l.state === 'failed' || l.state === 'expired'), lease].map((l) => ({
    leaseId: l.id,
    volunteerId: l.volunteerId,
    address: l.address,
    trusted: view.trusted.has(l.volunteerId),
  }));
}

function result(view: TaskView, lease: LeaseFacts, event: { outputHash: string; cpuMs: number; now: number }): Plan {
  const { task, job } = view;
  const { now, outputHash } = event;
  const alone = task.needed <= 1;
  const write: LeaseWrite = { state: 'completed', endedAt: now, cpuMs: boundedCpuMs(event.cpuMs, lease.issuedAt, now), outputHash };
  if (!isOpenState(task.state)) return { ...nothing(), lease: alone ? { ...write, verdict: 'unchecked' } : write };
  const live = Math.max(0, task.live - 1);
  const results = task.results + 1;

  if (alone) {
    return close(view, {
      lease: { ...write, verdict: 'unchecked' },
      reputation: [{ volunteerId: lease.volunteerId, change: { kind: 'unchecked' } }],
      task: { state: 'completed', results, output: 'event', history: [] },
    });
  }

  const answered = [...view.others.filter((l) => l.state === 'completed'), { ...lease, state: 'completed', endedAt: now, outputHash, hasOutput: true }].sort(
    (a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const verdict = judge(
    answered.map((l) => ({ volunteerId: l.volunteerId, outputHash: l.outputHash ?? '' })),
    { replicas: job.redundancy, quorum: task.needed },
  );
  if (verdict.kind === 'accepted') {
    const agreeing = new Set(verdict.agreeing);
    const validOf = (l: LeaseFacts) => (agreeing.has(l.volunteerId) && l.outputHash === verdict.outputHash ? 'valid' : 'invalid');
    const winner = outputHash === verdict.outputHash ? 'event' : { leaseId: answered.find((l) => l.outputHash === verdict.outputHash && l.hasOutput)!.id };
    return close(view, {
      lease: { ...write, verdict: validOf({ ...lease, outputHash }) },
      verdicts: answered.filter((l) => l.id !== lease.id).map((l) => ({ leaseId: l.id, verdict: validOf(l) })),
      reputation: [
        ...verdict.agreeing.map((volunteerId) => ({ volunteerId, change: { kind: 'agreed' } as const })),
        ...verdict.disagreeing.map((volunteerId) => ({
          volunteerId,
          // A volunteer answers a task once: its one completed replica is the lease judged.
          change: { kind: 'disagreed', issuedAt: answered.find((l) => l.volunteerId === volunteerId)?.issuedAt ?? 0 } as const,
        })),
      ],
      task: { state: 'completed', results, output: winner, history: [] },
    });
  }
  if (verdict.kind === 'no_quorum') {
    return close(view, {
      lease: write,
      task: { state: 'failed', results, history: [{ attempt: task.attempts, kind: 'no_quorum', message: verdict.message, at: now }] },
    });
  }
  const state = openTaskState({ live, results, wanted: verdict.wanted });
  return {
    ...nothing(),
    lease: { ...write, keepOutput: true },
    task: { state, live, results, wanted: verdict.wanted, history: [], settled: false },
    reopened: state === 'pending',
  };
}

/** A reported failure or an expiry: a counted attempt that the volunteer's record takes too. */
function counted(view: TaskView, lease: LeaseFacts, state: 'failed' | 'expired', kind: FailureKind, message: string, now: number): Plan {
  const write: LeaseWrite = { state, endedAt: now, errorKind: kind, errorMessage: message };
  const cause = state === 'expired' ? 'expired' : kind;
  const reputation = [{ volunteerId: lease.volunteerId, change: { kind: 'error', cause, issuedAt: lease.issuedAt } as const }];
  if (!isOpenState(view.task.state)) return { ...nothing(), lease: write, reputation };
  return countFailure(view, lease, write, reputation, { kind, message, now });
}

/** A counted failure of the open task: it fails (`afterCountedFailure`) or is open again. */
function countFailure(view: TaskView, lease: LeaseFacts, write: LeaseWrite, reputation: Plan['reputation'], entry: { kind: string; message: string; now: number }): Plan {
  const { task, job } = view;
  const failures = task.failures + 1;
  const history = [{ attempt: task.attempts, kind: entry.kind, message: entry.message, at: entry.now }];
  const witnesses = failureWitnesses(view, lease);
  const decision = afterCountedFailure(failures, witnesses, job.maxAttempts, view.otherSourceInJob);
  if (decision === 'failed') return close(view, { lease: write, reputation, task: { state: 'failed', failures, history } });
  return reopen(view, { lease: write, reputation, live: Math.max(0, task.live - 1), history, failures });
}

/** The streak verdict of `lease`'s volunteer vanishing with the task. */
function vanishing(view: TaskView, lease: LeaseFacts): { verdict: 'release' | 'crash'; streak: number } {
  const earlier = view.others
    .filter((l) => l.state !== 'active')
    .sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0) || b.issuedAt - a.issuedAt)
    .map((l) => ({ volunteerId: l.volunteerId, ending: endingOf(l) }));
  return afterVanishing(lease.volunteerId, earlier);
}

const endingOf = (l: LeaseFacts): LeaseEnding =>
  l.errorKind === ENDED ? 'neutral' : l.state === 'released' || (l.state === 'failed' && l.errorKind === CRASH) ? 'vanished' : 'answered';

/**
 * A lease taken back unanswered. With cause `ended`, or for the first volunteer to vanish with
 * the task, the attempt is not counted (its number is reused), but the release is: a task
 * released `RELEASES_PER_ATTEMPT × maxAttempts` times fails. A vanishing that continues a streak
 * (`afterVanishing`) counts as a failed attempt of kind `crash` instead; the volunteer's record
 * is left alone (it is the victim, not the culprit).
 */
function release(view: TaskView, lease: LeaseFacts, cause: ReleaseCause, now: number): Plan {
  const { task, job } = view;
  if (cause === 'vanished') {
    const { verdict, streak } = vanishing(view, lease);
    if (verdict === 'crash') {
      const message = `the volunteer vanished while holding this task, the ${ordinal(streak)} distinct volunteer in a row to do so: counted as a crash`;
      const write: LeaseWrite = { state: 'failed', endedAt: now, errorKind: CRASH, errorMessage: message };
      if (!isOpenState(task.state)) return { ...nothing(), lease: write };
      return countFailure(view, lease, write, [], { kind: CRASH, message, now });
    }
  }
  const message =
    cause === 'ended'
      ? 'the connection was closed before an answer (the volunteer left, or the coordinator shut down or restarted); not counted as an attempt'
      : 'the volunteer disconnected before answering; not counted as an attempt';
  const write: LeaseWrite = { state: 'released', endedAt: now, errorKind: cause === 'ended' ? ENDED : 'released', errorMessage: message };
  if (!isOpenState(task.state)) return { ...nothing(), lease: write };
  const releases = task.releases + 1;
  const history = [{ attempt: task.attempts, kind: 'released', message, at: now }];
  if (afterRelease(releases, job.maxAttempts) === 'failed') {
    const final = `released ${releases} times: every volunteer disconnected before answering (a task that crashes or outlasts its volunteers' visits)`;
    return close(view, { lease: write, task: { state: 'failed', releases, history: [...history, { attempt: task.attempts, kind: 'released', message: final, at: now }] } });
  }
  return reopen(view, { lease: write, live: Math.max(0, task.live - 1), history, releases, attempts: Math.max(0, task.attempts - 1) });
}

/** The whole task is cancelled: its live replicas are revoked. */
function cancel(view: TaskView): Plan {
  if (!isOpenState(view.task.state)) return nothing();
  const live = [...(view.lease ? [view.lease] : []), ...view.others].filter((l) => l.state === 'active');
  return { ...nothing(), revoke: live, task: { state: 'cancelled', live: 0, history: [], settled: false } };
}

/** The task is open again after losing a replica. */
function reopen(
  view: TaskView,
  parts: { lease: LeaseWrite; reputation?: Plan['reputation']; live: number; history: HistoryEntry[]; failures?: number; releases?: number; attempts?: number },
): Plan {
  const { task, job } = view;
  const fresh = parts.live === 0 && task.results === 0;
  const wanted = fresh ? job.redundancy : task.wanted;
  const needed = fresh ? job.quorum : task.needed;
  const state = openTaskState({ live: parts.live, results: task.results, wanted });
  return {
    ...nothing(),
    lease: parts.lease,
    reputation: parts.reputation ?? [],
    task: {
      state,
      live: parts.live,
      wanted,
      needed,
      history: parts.history,
      settled: false,
      ...(parts.failures !== undefined ? { failures: parts.failures } : {}),
      ...(parts.releases !== undefined ? { releases: parts.releases } : {}),
      ...(parts.attempts !== undefined ? { attempts: parts.attempts } : {}),
    },
    reopened: state === 'pending',
  };
}

/**
 * The task ends for good: its other live replicas are revoked, replica outputs kept for a quorum
 * are dropped, it takes its place in the job's completion order, and the job may be complete.
 */
function close(
  view: TaskView,
  parts: { lease: LeaseWrite; verdicts?: Plan['verdicts']; reputation?: Plan['reputation']; task: Omit<TaskWrite, 'live' | 'settled'> },
): Plan {
  const ended = view.lease?.id;
  return {
    lease: parts.lease,
    verdicts: parts.verdicts ?? [],
    revoke: view.others.filter((l) => l.state === 'active' && l.id !== ended),
    dropReplicaOutputs: view.task.needed > 1,
    task: { ...parts.task, live: 0, settled: true },
    reputation: parts.reputation ?? [],
    settleJob: true,
    reopened: false,
  };
}

const ordinal = (n: number): string => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${suffix}`;
};

/**
 * How a live lease ends inside a store transaction: a result (judged by the quorum rule), a
 * counted attempt (failure, expiry, or a disconnect that continues a streak: a crash), a release
 * (not counted), and what follows for its task and job: the task settles (its other replicas are revoked) or wants another replica, and the job
 * completes once its last task is terminal. Each function runs inside the caller's transaction
 * and applies the pure decisions of `scheduler/quorum.ts` and `scheduler/reputation.ts`.
 */
import type { FailureKind } from '../protocol/events.ts';
import { judge, openTaskState } from '../scheduler/quorum.ts';
import { afterAgreed, afterDisagreed, afterError, afterUnchecked, isStrike, strikeEscalates } from '../scheduler/reputation.ts';
import type { DialectCapabilities } from './capabilities.ts';
import { fromDbBytes, toDbBytes } from './bytes.ts';
import type { Db, StoreContext } from './db.ts';
import type { Database } from './schema.ts';
import type { EndedLease, ReleaseCause } from './store.ts';
import { afterFailedAttempt, afterRelease, afterVanishing, appendTaskError } from './task-history.ts';
import type { LeaseEnding } from './task-history.ts';
import { updateReputation } from './volunteer-store.ts';

/** The task states that still need a volunteer. */
export const OPEN_TASK_STATES = ['pending', 'running'] as const;

/** A lease row as stored. */
export type LeaseRow = Database['leases'];

/** What a transition did that the caller reports: replicas to revoke, and whether work reopened. */
export interface Transition {
  revoked: EndedLease[];
  reopened: boolean;
}

const NOTHING: Transition = Object.freeze({ revoked: [], reopened: false }) as Transition;

/** Reads one lease by id. */
export async function findLease(trx: Db, leaseId: string): Promise<LeaseRow | undefined> {
  return trx.selectFrom('leases').selectAll().where('id', '=', leaseId).executeTakeFirst();
}

/** A task with the settings of its job that its transitions depend on. */
async function readTask(trx: Db, jobId: string, idx: number) {
  const row = await trx
    .selectFrom('tasks')
    .innerJoin('jobs', 'jobs.id', 'tasks.job_id')
    .select([
      'tasks.state',
      'tasks.attempts',
      'tasks.errors',
      'tasks.live',
      'tasks.results',
      'tasks.wanted',
      'tasks.needed',
      'tasks.failures',
      'tasks.releases',
      'jobs.redundancy',
      'jobs.quorum',
      'jobs.max_attempts',
    ])
    .where('tasks.job_id', '=', jobId)
    .where('tasks.idx', '=', idx)
    .executeTakeFirstOrThrow();
  return {
    jobId,
    idx,
    state: row.state,
    attempts: Number(row.attempts),
    errors: row.errors,
    live: Number(row.live),
    results: Number(row.results),
    wanted: Number(row.wanted),
    needed: Number(row.needed),
    failures: Number(row.failures),
    releases: Number(row.releases),
    redundancy: Number(row.redundancy),
    quorum: Number(row.quorum),
    maxAttempts: Number(row.max_attempts),
  };
}
type TaskView = Awaited<ReturnType<typeof readTask>>;

const isOpen = (state: string): boolean => (OPEN_TASK_STATES as readonly string[]).includes(state);

/**
 * The task is open again after losing a replica: a task with no replica left starts over from its
 * job's redundancy and quorum, so the next claim decides its replication afresh.
 */
async function reopen(trx: Db, task: TaskView, changes: { live: number; errors: string; now: number; attempts?: number; failures?: number; releases?: number }): Promise<Transition> {
  const fresh = changes.live === 0 && task.results === 0;
  const wanted = fresh ? task.redundancy : task.wanted;
  const needed = fresh ? task.quorum : task.needed;
  const state = openTaskState({ live: changes.live, results: task.results, wanted });
  await trx
    .updateTable('tasks')
    .set({
      state,
      live: changes.live,
      wanted,
      needed,
      errors: changes.errors,
      updated_at: changes.now,
      ...(changes.attempts !== undefined ? { attempts: changes.attempts } : {}),
      ...(changes.failures !== undefined ? { failures: changes.failures } : {}),
      ...(changes.releases !== undefined ? { releases: changes.releases } : {}),
    })
    .where('job_id', '=', task.jobId)
    .where('idx', '=', task.idx)
    .execute();
  return { revoked: [], reopened: state === 'pending' };
}

/**
 * Ends a task for good (completed with `output`, or failed): its other live replicas are revoked,
 * replica outputs waiting for a quorum are dropped, and the job settles.
 */
async function closeTask(
  trx: Db,
  ctx: StoreContext,
  task: TaskView,
  end: {
    state: 'completed' | 'failed';
    output?: Uint8Array;
    errors?: string;
    failures?: number;
    releases?: number;
    results?: number;
    /** Live replicas left besides the lease being ended (none: nothing to revoke). */
    otherLive: number;
    now: number;
  },
): Promise<Transition> {
  const live =
    end.otherLive > 0
      ? await trx
          .selectFrom('leases')
          .select(['id', 'volunteer_id', 'session_id', 'job_id'])
          .where('job_id', '=', task.jobId)
          .where('task_idx', '=', task.idx)
          .where('state', '=', 'active')
          .execute()
      : [];
  if (live.length > 0) {
    await trx
      .updateTable('leases')
      .set({ state: 'revoked', ended_at: end.now })
      .where('job_id', '=', task.jobId)
      .where('task_idx', '=', task.idx)
      .where('state', '=', 'active')
      .execute();
  }
  // Replica outputs wait on their leases only while a quorum is open.
  if (task.needed > 1) {
    await trx
      .updateTable('leases')
      .set({ output: null })
      .where('job_id', '=', task.jobId)
      .where('task_idx', '=', task.idx)
      .where('output', 'is not', null)
      .execute();
  }
  const settledSeq = await nextSettledSeq(trx, task.jobId);
  await trx
    .updateTable('tasks')
    .set({
      state: end.state,
      live: 0,
      settled_seq: settledSeq,
      updated_at: end.now,
      ...(end.output ? { output: toDbBytes(end.output) } : {}),
      ...(end.errors !== undefined ? { errors: end.errors } : {}),
      ...(end.failures !== undefined ? { failures: end.failures } : {}),
      ...(end.releases !== undefined ? { releases: end.releases } : {}),
      ...(end.results !== undefined ? { results: end.results } : {}),
    })
    .where('job_id', '=', task.jobId)
    .where('idx', '=', task.idx)
    .execute();
  await settleJob(trx, ctx.caps, task.jobId, end.now);
  return { revoked: live.map(toEndedLease), reopened: false };
}

/**
 * Records a replica's result. A task that needs one agreeing result accepts it at once; otherwise
 * the output waits on the lease until the task's results reach a quorum (accepted: agreeing and
 * disagreeing volunteers' records change), need another replica, or can no longer agree.
 */
export async function recordResult(
  trx: Db,
  ctx: StoreContext,
  lease: LeaseRow,
  result: { output: Uint8Array; outputHash: string; cpuMs: number; now: number },
): Promise<Transition> {
  const { now } = result;
  const task = await readTask(trx, lease.job_id, Number(lease.task_idx));
  const alone = task.needed <= 1;
  await trx
    .updateTable('leases')
    .set({
      state: 'completed',
      ended_at: now,
      cpu_ms: Math.round(result.cpuMs),
      output_hash: result.outputHash,
      // Accepted alone, or kept on the lease until the task's replicas reach a quorum.
      ...(alone ? { verdict: 'unchecked' } : { output: toDbBytes(result.output) }),
    })
    .where('id', '=', lease.id)
    .execute();
  if (!isOpen(task.state)) return NOTHING;
  const live = Math.max(0, task.live - 1);
  const results = task.results + 1;

  if (alone) {
    await updateReputation(trx, lease.volunteer_id, now, ctx.quota, (rep) => afterUnchecked(rep, ctx.quota));
    return closeTask(trx, ctx, task, { state: 'completed', output: result.output, results, otherLive: live, now });
  }

  const answered = await trx
    .selectFrom('leases')
    .select(['id', 'volunteer_id', 'output_hash', 'issued_at'])
    .where('job_id', '=', task.jobId)
    .where('task_idx', '=', task.idx)
    .where('state', '=', 'completed')
    .orderBy('ended_at')
    .orderBy('id')
    .execute();
  const verdict = judge(
    answered.map((row) => ({ volunteerId: row.volunteer_id, outputHash: row.output_hash ?? '' })),
    { replicas: task.redundancy, quorum: task.needed },
  );
  await trx.updateTable('tasks').set({ live, results }).where('job_id', '=', task.jobId).where('idx', '=', task.idx).execute();
  const settled = { ...task, live, results };

  if (verdict.kind === 'accepted') {
    const winner = await trx
      .selectFrom('leases')
      .select('output')
      .where('job_id', '=', task.jobId)
      .where('task_idx', '=', task.idx)
      .where('state', '=', 'completed')
      .where('output_hash', '=', verdict.outputHash)
      .where('output', 'is not', null)
      .executeTakeFirstOrThrow();
    const agreeing = new Set(verdict.agreeing);
    for (const row of answered) {
      const valid = agreeing.has(row.volunteer_id) && row.output_hash === verdict.outputHash;
      await trx.updateTable('leases').set({ verdict: valid ? 'valid' : 'invalid' }).where('id', '=', row.id).execute();
    }
    for (const id of verdict.agreeing) await updateReputation(trx, id, now, ctx.quota, (rep) => afterAgreed(rep, ctx.quota));
    for (const id of verdict.disagreeing) {
      // A volunteer answers a task once: its one completed replica is the lease judged.
      const issuedAt = Number(answered.find((row) => row.volunteer_id === id)?.issued_at ?? 0);
      await updateReputation(trx, id, now, ctx.quota, (rep, struckAt) => afterDisagreed(rep, ctx.quota, strikeEscalates(issuedAt, struckAt)), { strike: true });
    }
    return closeTask(trx, ctx, settled, { state: 'completed', output: fromDbBytes(winner.output as Uint8Array), otherLive: live, now });
  }
  if (verdict.kind === 'no_quorum') {
    const errors = appendTaskError(task.errors, { attempt: task.attempts, kind: 'no_quorum', message: verdict.message, at: now });
    return closeTask(trx, ctx, settled, { state: 'failed', errors, otherLive: live, now });
  }
  const state = openTaskState({ live, results, wanted: verdict.wanted });
  await trx
    .updateTable('tasks')
    .set({ state, wanted: verdict.wanted, updated_at: now })
    .where('job_id', '=', task.jobId)
    .where('idx', '=', task.idx)
    .execute();
  return { revoked: [], reopened: state === 'pending' };
}

/**
 * Ends a live lease as a counted attempt (a reported failure or an expiry): the reason joins the
 * task's history, the volunteer's record takes the error, and the task is open again or fails once
 * its failures reach the job's `maxAttempts`.
 */
export async function endCountedAttempt(
  trx: Db,
  ctx: StoreContext,
  lease: LeaseRow,
  leaseState: 'failed' | 'expired',
  kind: FailureKind,
  message: string,
  now: number,
): Promise<Transition> {
  await trx
    .updateTable('leases')
    .set({ state: leaseState, ended_at: now, error_kind: kind, error_message: message })
    .where('id', '=', lease.id)
    .execute();
  const cause = leaseState === 'expired' ? 'expired' : kind;
  await updateReputation(
    trx,
    lease.volunteer_id,
    now,
    ctx.quota,
    (rep, struckAt) => afterError(rep, cause, ctx.quota, strikeEscalates(Number(lease.issued_at), struckAt)),
    { strike: isStrike(cause) },
  );
  const task = await readTask(trx, lease.job_id, Number(lease.task_idx));
  if (!isOpen(task.state)) return NOTHING;
  const failures = task.failures + 1;
  const errors = appendTaskError(task.errors, { attempt: task.attempts, kind, message, at: now });
  if (afterFailedAttempt(failures, task.maxAttempts) === 'failed') {
    return closeTask(trx, ctx, task, { state: 'failed', errors, failures, otherLive: task.live - 1, now });
  }
  return reopen(trx, task, { live: Math.max(0, task.live - 1), errors, failures, now });
}


/** Lease `error_kind` of a disconnect that counted as a crash (the lease state is `failed`). */
const CRASH = 'crash';
/** Lease `error_kind` of a release with cause `ended`: no evidence about the task either way. */
const ENDED = 'ended';
/** Earlier lease endings read for a streak: more than any streak that matters. */
const STREAK_HISTORY = 64;

/** The task's earlier ended leases, newest first, as the streak sees them. */
async function earlierEndings(trx: Db, lease: LeaseRow): Promise<{ volunteerId: string; ending: LeaseEnding }[]> {
  const rows = await trx
    .selectFrom('leases')
    .select(['volunteer_id', 'state', 'error_kind'])
    .where('job_id', '=', lease.job_id)
    .where('task_idx', '=', lease.task_idx)
    .where('state', '!=', 'active')
    .where('id', '!=', lease.id)
    .orderBy('ended_at', 'desc')
    .orderBy('issued_at', 'desc')
    .limit(STREAK_HISTORY)
    .execute();
  return rows.map((row) => ({
    volunteerId: row.volunteer_id,
    ending:
      row.error_kind === ENDED ? 'neutral'
      : (row.state === 'released' || (row.state === 'failed' && row.error_kind === CRASH)) ? 'vanished'
      : 'answered',
  }));
}

/**
 * Takes a lease back unanswered. With cause `ended`, or for the first volunteer to vanish with
 * the task, the attempt is not counted (its number is reused), but the release is: a task
 * released `RELEASES_PER_ATTEMPT × maxAttempts` times fails. A vanishing that continues a streak
 * of distinct volunteers vanishing with the task (`afterVanishing`) counts as a failed attempt of
 * kind `crash` instead; the volunteer's record is left alone (it is the victim, not the culprit).
 */
export async function releaseLease(trx: Db, ctx: StoreContext, lease: LeaseRow, now: number, cause: ReleaseCause = 'vanished'): Promise<Transition> {
  if (cause === 'vanished') {
    const { verdict, streak } = afterVanishing(lease.volunteer_id, await earlierEndings(trx, lease));
    if (verdict === 'crash') return countCrash(trx, ctx, lease, streak, now);
  }
  const message =
    cause === 'ended'
      ? 'the connection was closed before an answer (the volunteer left, or the coordinator shut down or restarted); not counted as an attempt'
      : 'the volunteer disconnected before answering; not counted as an attempt';
  await trx
    .updateTable('leases')
    .set({ state: 'released', ended_at: now, error_kind: cause === 'ended' ? ENDED : 'released', error_message: message })
    .where('id', '=', lease.id)
    .execute();
  const task = await readTask(trx, lease.job_id, Number(lease.task_idx));
  if (!isOpen(task.state)) return NOTHING;
  const releases = task.releases + 1;
  const errors = appendTaskError(task.errors, { attempt: task.attempts, kind: 'released', message, at: now });
  if (afterRelease(releases, task.maxAttempts) === 'failed') {
    const final = `released ${releases} times: every volunteer disconnected before answering (a task that crashes or outlasts its volunteers' visits)`;
    const history = appendTaskError(errors, { attempt: task.attempts, kind: 'released', message: final, at: now });
    return closeTask(trx, ctx, task, { state: 'failed', errors: history, releases, otherLive: task.live - 1, now });
  }
  return reopen(trx, task, { live: Math.max(0, task.live - 1), errors, releases, attempts: Math.max(0, task.attempts - 1), now });
}

/** A disconnect counted as a failed attempt of kind `crash`: the task is open again or fails. */
async function countCrash(trx: Db, ctx: StoreContext, lease: LeaseRow, streak: number, now: number): Promise<Transition> {
  const message = `the volunteer vanished while holding this task, the ${ordinal(streak)} distinct volunteer in a row to do so: counted as a crash`;
  await trx
    .updateTable('leases')
    .set({ state: 'failed', ended_at: now, error_kind: CRASH, error_message: message })
    .where('id', '=', lease.id)
    .execute();
  const task = await readTask(trx, lease.job_id, Number(lease.task_idx));
  if (!isOpen(task.state)) return NOTHING;
  const failures = task.failures + 1;
  const errors = appendTaskError(task.errors, { attempt: task.attempts, kind: CRASH, message, at: now });
  if (afterFailedAttempt(failures, task.maxAttempts) === 'failed') {
    return closeTask(trx, ctx, task, { state: 'failed', errors, failures, otherLive: task.live - 1, now });
  }
  return reopen(trx, task, { live: Math.max(0, task.live - 1), errors, failures, now });
}

const ordinal = (n: number): string => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][n % 10] ?? 'th';
  return `${n}${suffix}`;
};

/** The next place in the job's completion order (results `?order=completion`). */
async function nextSettledSeq(trx: Db, jobId: string): Promise<number> {
  const row = await trx
    .updateTable('jobs')
    .set((eb) => ({ settled_count: eb('settled_count', '+', 1) }))
    .where('id', '=', jobId)
    .returning('settled_count')
    .executeTakeFirstOrThrow();
  return Number(row.settled_count);
}

/**
 * Marks an active, closed job completed once none of its tasks is pending or running (an open job
 * may still get inputs, so it is never completed). With concurrent
 * writers, two transactions finishing a job's last two tasks would each still see the other's
 * task open; locking the job row first makes the second one see the first one's commit.
 */
export async function settleJob(trx: Db, caps: DialectCapabilities, jobId: string, now: number): Promise<void> {
  if (caps.rowLocks) await trx.selectFrom('jobs').select('id').where('id', '=', jobId).forUpdate().execute();
  const open = await trx
    .selectFrom('tasks')
    .select('idx')
    .where('job_id', '=', jobId)
    .where('state', 'in', OPEN_TASK_STATES)
    .limit(1)
    .executeTakeFirst();
  if (open) return;
  await trx
    .updateTable('jobs')
    .set({ state: 'completed', finished_at: now })
    .where('id', '=', jobId)
    .where('state', '=', 'active')
    .where('open', '=', 0)
    .execute();
}

/** The part of a lease row a caller needs to tell its volunteer. */
export function toEndedLease(row: { id: string; volunteer_id: string; session_id: string; job_id: string }): EndedLease {
  return { leaseId: row.id, volunteerId: row.volunteer_id, sessionId: row.session_id, jobId: row.job_id };
}

/**
 * How a live lease ends inside a store transaction: a counted attempt (failure or expiry), a
 * release (not counted), and the job settling once its last task is terminal. Shared by the
 * verbs of `kysely-store.ts`; each function runs inside the caller's transaction.
 */
import type { Kysely, Transaction } from 'kysely';
import type { FailureKind } from '../protocol/events.ts';
import type { DialectCapabilities } from './capabilities.ts';
import type { Database } from './schema.ts';
import type { EndedLease } from './store.ts';
import { afterFailedAttempt, appendTaskError } from './task-history.ts';

/** A Kysely handle: the database or an open transaction. */
export type Db = Kysely<Database> | Transaction<Database>;

/** The task states that still need a volunteer. */
export const OPEN_TASK_STATES = ['pending', 'running'] as const;

/** A lease row as stored. */
export type LeaseRow = Database['leases'];

/** Reads one lease by id. */
export async function findLease(trx: Db, leaseId: string): Promise<LeaseRow | undefined> {
  return trx.selectFrom('leases').selectAll().where('id', '=', leaseId).executeTakeFirst();
}

/**
 * Ends a live lease as a counted attempt (a reported failure or an expiry): the reason joins the
 * task's history and the task goes back to pending, or fails once its attempts are used up.
 */
export async function endCountedAttempt(
  trx: Db,
  caps: DialectCapabilities,
  lease: LeaseRow,
  leaseState: 'failed' | 'expired',
  kind: FailureKind,
  message: string,
  now: number,
): Promise<void> {
  await trx
    .updateTable('leases')
    .set({ state: leaseState, ended_at: now, error_kind: kind, error_message: message })
    .where('id', '=', lease.id)
    .execute();
  const task = await trx
    .selectFrom('tasks')
    .innerJoin('jobs', 'jobs.id', 'tasks.job_id')
    .select(['tasks.attempts', 'tasks.errors', 'tasks.state', 'jobs.max_attempts'])
    .where('tasks.job_id', '=', lease.job_id)
    .where('tasks.idx', '=', lease.task_idx)
    .executeTakeFirstOrThrow();
  if (task.state !== 'running') return;
  const attempts = Number(task.attempts);
  const next = afterFailedAttempt(attempts, Number(task.max_attempts));
  await trx
    .updateTable('tasks')
    .set({ state: next, errors: appendTaskError(task.errors, { attempt: attempts, kind, message, at: now }), updated_at: now })
    .where('job_id', '=', lease.job_id)
    .where('idx', '=', lease.task_idx)
    .execute();
  if (next === 'failed') await settleJob(trx, caps, lease.job_id, now);
}

/** Takes a lease back from a volunteer that disconnected: the attempt is not counted. */
export async function releaseLease(trx: Db, lease: LeaseRow, now: number): Promise<void> {
  const message = 'the volunteer disconnected before answering; not counted as an attempt';
  await trx
    .updateTable('leases')
    .set({ state: 'released', ended_at: now, error_kind: 'released', error_message: message })
    .where('id', '=', lease.id)
    .execute();
  const task = await trx
    .selectFrom('tasks')
    .select(['attempts', 'errors', 'state'])
    .where('job_id', '=', lease.job_id)
    .where('idx', '=', lease.task_idx)
    .executeTakeFirstOrThrow();
  if (task.state !== 'running') return;
  const attempts = Number(task.attempts);
  await trx
    .updateTable('tasks')
    .set({
      state: 'pending',
      attempts: Math.max(0, attempts - 1),
      errors: appendTaskError(task.errors, { attempt: attempts, kind: 'released', message, at: now }),
      updated_at: now,
    })
    .where('job_id', '=', lease.job_id)
    .where('idx', '=', lease.task_idx)
    .execute();
}

/**
 * Marks an active job completed once none of its tasks is pending or running. With concurrent
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
    .execute();
}

/** The part of a lease row a caller needs to tell its volunteer. */
export function toEndedLease(row: { id: string; volunteer_id: string; session_id: string }): EndedLease {
  return { leaseId: row.id, volunteerId: row.volunteer_id, sessionId: row.session_id };
}


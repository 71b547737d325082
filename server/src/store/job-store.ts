/**
 * Jobs in the store: creating one whole or with streamed inputs (`job-inputs.ts`), reading its
 * status and results (`job-status.ts`), and cancelling it, which revokes its live leases.
 */
import type { Kysely } from 'kysely';
import type { DialectCapabilities } from './capabilities.ts';
import { beginInputs, closeJob, commitInputs, createWholeJob, discardAbandonedInputs, discardInputs, insertJob, stageInputs } from './job-inputs.ts';
import { STAGING, listJobStatuses, readJobState, readJobStatus, readResults, readSettled } from './job-status.ts';
import { OPEN_TASK_STATES } from './job-settling.ts';
import { toEndedLease } from './lease-endings.ts';
import { LIVE } from './lease-states.ts';
import type { Database } from './schema.ts';
import type { EndedLease, Store } from './store.ts';

/** The job verbs of `Store`. */
export type JobVerbs = Pick<
  Store,
  | 'createJob'
  | 'getJob'
  | 'getJobState'
  | 'countActiveJobs'
  | 'listResults'
  | 'listJobs'
  | 'listSettled'
  | 'createStagedJob'
  | 'beginInputs'
  | 'stageInputs'
  | 'commitInputs'
  | 'discardInputs'
  | 'closeJob'
  | 'discardAbandonedInputs'
  | 'cancelJob'
>;

/** See `Store.countActiveJobs`. */
async function countActiveJobs(db: Kysely<Database>, owner: string): Promise<number> {
  const row = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('owner', '=', owner)
    .where('state', '=', 'active')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** See `Store.cancelJob`. */
async function cancelJob(db: Kysely<Database>, caps: DialectCapabilities, id: string, now: number): Promise<{ revoked: EndedLease[] } | undefined> {
  return db.transaction().execute(async (trx) => {
    let find = trx.selectFrom('jobs').select('state').where('id', '=', id);
    if (caps.rowLocks) find = find.forUpdate();
    const job = await find.executeTakeFirst();
    if (!job || job.state === STAGING) return undefined;
    if (job.state !== 'active') return { revoked: [] };
    // Tasks first: with concurrent writers this waits for claims holding them, so the leases
    // those claims made are committed, and seen, before the leases are revoked.
    await trx
      .updateTable('tasks')
      .set({ state: 'cancelled', live: 0, updated_at: now })
      .where('job_id', '=', id)
      .where('state', 'in', OPEN_TASK_STATES)
      .execute();
    const live = await trx
      .selectFrom('leases')
      .select(['id', 'volunteer_id', 'session_id', 'job_id'])
      .where('job_id', '=', id)
      .where('state', '=', LIVE)
      .execute();
    await trx
      .updateTable('leases')
      .set({ state: 'revoked', ended_at: now })
      .where('job_id', '=', id)
      .where('state', '=', LIVE)
      .execute();
    await trx.updateTable('jobs').set({ state: 'cancelled', finished_at: now }).where('id', '=', id).execute();
    return { revoked: live.map(toEndedLease) };
  });
}

/** The job verbs of `Store`. */
export function jobStore(db: Kysely<Database>, caps: DialectCapabilities): JobVerbs {
  return {
    createJob: (job) => createWholeJob(db, caps, job),
    getJob: (id) => readJobStatus(db, id),
    getJobState: (id) => readJobState(db, id),
    countActiveJobs: (owner) => countActiveJobs(db, owner),
    listResults: (jobId, fromIndex, limit) => readResults(db, jobId, fromIndex, limit),
    listJobs: (query) => listJobStatuses(db, query),
    listSettled: (jobId, afterSeq, limit) => readSettled(db, jobId, afterSeq, limit),
    createStagedJob: (job) => db.transaction().execute((trx) => insertJob(trx, job, 'staged')),
    beginInputs: (jobId) => beginInputs(db, caps, jobId),
    stageInputs: (jobId, fromIndex, inputs, now) => stageInputs(db, caps, jobId, fromIndex, inputs, now),
    commitInputs: (jobId, total, now) => commitInputs(db, caps, jobId, total, now),
    discardInputs: (jobId) => discardInputs(db, caps, jobId),
    closeJob: (jobId, now) => closeJob(db, caps, jobId, now),
    discardAbandonedInputs: () => discardAbandonedInputs(db),
    cancelJob: (id, now) => cancelJob(db, caps, id, now),
  };
}

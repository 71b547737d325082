/**
 * Streamed inputs inside the store: a job created empty (`staging`), batches of tasks inserted past
 * the job's `task_count` (where claims, counts and results do not look), then one small commit that
 * moves `task_count`, or a discard that deletes them. See `Store.createStagedJob` and after.
 */
import type { Kysely } from 'kysely';
import { OPERATOR } from '../accounts/principal.ts';
import { CodedError } from '../protocol/errors.ts';
import type { DialectCapabilities } from './capabilities.ts';
import { toDbBytes } from './bytes.ts';
import type { Db } from './db.ts';
import { settleJob } from './job-settling.ts';
import { STAGING } from './job-status.ts';
import type { Database } from './schema.ts';
import type { NewJob, NewJobOptions } from './store.ts';

const TASK_COLUMNS_PER_ROW = 12;

/** Rows per INSERT statement: below the dialect's parameter bound. */
export function insertBatch(caps: DialectCapabilities): number {
  return Math.max(1, Math.min(1000, Math.floor(caps.maxParameters / TASK_COLUMNS_PER_ROW)));
}

/**
 * Inserts the job row: `staging` for a streamed job, else `active`, or `completed` at once when it
 * has no inputs and is closed.
 */
export async function insertJob(trx: Db, job: NewJobOptions, inputs: readonly Uint8Array[] | 'staged'): Promise<void> {
  const module = await trx.selectFrom('modules').select('hash').where('hash', '=', job.moduleHash).executeTakeFirst();
  if (!module) throw new CodedError('module_not_found', `no module ${job.moduleHash}: upload it first (POST /api/v1/modules)`);
  const open = job.open === true;
  const done = inputs !== 'staged' && inputs.length === 0 && !open;
  const inserted = await trx
    .insertInto('jobs')
    .values({
      id: job.id,
      module_hash: job.moduleHash,
      title: job.title ?? null,
      purpose: job.purpose ?? null,
      state: inputs === 'staged' ? STAGING : done ? 'completed' : 'active',
      redundancy: job.redundancy,
      quorum: job.quorum,
      adaptive: job.adaptiveReplication === false ? 0 : 1,
      deadline_ms: job.deadlineMs,
      max_attempts: job.maxAttempts,
      priority: job.priority,
      created_at: job.createdAt,
      finished_at: done ? job.createdAt : null,
      site_key: job.siteKey ?? null,
      owner: job.owner ?? OPERATOR,
      open: open ? 1 : 0,
      task_count: inputs === 'staged' ? 0 : inputs.length,
      settled_count: 0,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) {
    throw new CodedError('conflict', `job ${job.id} already exists`);
  }
}

/** Inserts `inputs` as pending tasks from `fromIndex` on, in statements of `batch` rows. */
export async function insertTasks(
  trx: Db,
  job: { id: string; redundancy: number; quorum: number },
  fromIndex: number,
  inputs: readonly Uint8Array[],
  now: number,
  batch: number,
): Promise<void> {
  for (let start = 0; start < inputs.length; start += batch) {
    const rows = inputs.slice(start, start + batch).map((input, offset) => ({
      job_id: job.id,
      idx: fromIndex + start + offset,
      input: toDbBytes(input),
      state: 'pending',
      attempts: 0,
      updated_at: now,
      live: 0,
      results: 0,
      wanted: job.redundancy,
      needed: job.quorum,
      failures: 0,
      releases: 0,
      settled_seq: null,
    }));
    await trx.insertInto('tasks').values(rows).execute();
  }
}

/** Creates a job and its tasks in one transaction. */
export async function createWholeJob(db: Kysely<Database>, caps: DialectCapabilities, job: NewJob): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await insertJob(trx, job, job.inputs);
    await insertTasks(trx, job, 0, job.inputs, job.createdAt, insertBatch(caps));
  });
}

async function lockJob(trx: Db, caps: DialectCapabilities, jobId: string) {
  let find = trx.selectFrom('jobs').select(['state', 'open', 'task_count', 'redundancy', 'quorum']).where('id', '=', jobId);
  if (caps.rowLocks) find = find.forUpdate();
  return find.executeTakeFirst();
}

/** Deletes the tasks past the job's `task_count` (a request's that never succeeded). */
async function deleteStaged(trx: Db, jobId: string, taskCount: number): Promise<void> {
  await trx.deleteFrom('leases').where('job_id', '=', jobId).where('task_idx', '>=', taskCount).execute();
  await trx.deleteFrom('tasks').where('job_id', '=', jobId).where('idx', '>=', taskCount).execute();
}

export async function beginInputs(db: Kysely<Database>, caps: DialectCapabilities, jobId: string): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const job = await lockJob(trx, caps, jobId);
    if (!job || job.state === STAGING) throw new CodedError('job_not_found', `no job ${jobId}`);
    if (job.state !== 'active') throw new CodedError('conflict', `job ${jobId} is ${job.state}: it takes no more inputs`);
    if (Number(job.open) === 0) throw new CodedError('conflict', `job ${jobId} is closed: it takes no more inputs (create it with "open": true to append)`);
    const count = Number(job.task_count);
    await deleteStaged(trx, jobId, count);
    return count;
  });
}

export async function stageInputs(
  db: Kysely<Database>,
  caps: DialectCapabilities,
  jobId: string,
  fromIndex: number,
  inputs: readonly Uint8Array[],
  now: number,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const job = await lockJob(trx, caps, jobId);
    if (!job) throw new CodedError('job_not_found', `no job ${jobId}`);
    const settings = { id: jobId, redundancy: Number(job.redundancy), quorum: Number(job.quorum) };
    await insertTasks(trx, settings, fromIndex, inputs, now, insertBatch(caps));
  });
}

export async function commitInputs(db: Kysely<Database>, caps: DialectCapabilities, jobId: string, total: number, now: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const job = await lockJob(trx, caps, jobId);
    if (!job) throw new CodedError('job_not_found', `no job ${jobId}`);
    if (job.state !== STAGING && job.state !== 'active') {
      throw new CodedError('conflict', `job ${jobId} was ${job.state} while its inputs arrived; they were not added`);
    }
    // A safety net under the route's one-request-at-a-time rule: a closed job takes no more inputs.
    if (job.state !== STAGING && Number(job.open) === 0) {
      throw new CodedError('conflict', `job ${jobId} was closed while its inputs arrived; they were not added`);
    }
    const closedEmpty = job.state === STAGING && total === 0 && Number(job.open) === 0;
    await trx
      .updateTable('jobs')
      .set({
        task_count: total,
        state: closedEmpty ? 'completed' : 'active',
        ...(closedEmpty ? { finished_at: now } : {}),
      })
      .where('id', '=', jobId)
      .execute();
  });
}

export async function discardInputs(db: Kysely<Database>, caps: DialectCapabilities, jobId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const job = await lockJob(trx, caps, jobId);
    if (!job) return;
    await deleteStaged(trx, jobId, Number(job.task_count));
    if (job.state === STAGING) await trx.deleteFrom('jobs').where('id', '=', jobId).execute();
  });
}

export async function closeJob(db: Kysely<Database>, caps: DialectCapabilities, jobId: string, now: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const job = await lockJob(trx, caps, jobId);
    if (!job || job.state === STAGING) return false;
    if (Number(job.open) === 0) return true;
    await deleteStaged(trx, jobId, Number(job.task_count));
    await trx.updateTable('jobs').set({ open: 0 }).where('id', '=', jobId).execute();
    if (job.state === 'active') await settleJob(trx, caps, jobId, now);
    return true;
  });
}

/**
 * After a restart: deletes what requests that died with the previous process left (tasks past
 * their job's `task_count`, and staged jobs). Run before the coordinator takes requests.
 */
export async function discardAbandonedInputs(db: Kysely<Database>): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const leftovers = await trx
      .selectFrom('jobs')
      .select(['id', 'state', 'task_count'])
      .where(({ or, eb, exists, selectFrom }) =>
        or([
          eb('state', '=', STAGING),
          exists(selectFrom('tasks').select('tasks.idx').whereRef('tasks.job_id', '=', 'jobs.id').whereRef('tasks.idx', '>=', 'jobs.task_count')),
        ]),
      )
      .execute();
    for (const job of leftovers) {
      await deleteStaged(trx, job.id, Number(job.task_count));
      if (job.state === STAGING) await trx.deleteFrom('jobs').where('id', '=', job.id).execute();
    }
    return leftovers.length;
  });
}

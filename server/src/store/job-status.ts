/**
 * Reading jobs as the API reports them: a job's status with its task counts, the job list, and a
 * job's tasks in input or completion order. Only tasks that exist are read (`idx < task_count`;
 * see `schema.ts`), and a job still being created by a streamed request (`staging`) is nobody's.
 */
import type { Selectable } from 'kysely';
import type { JobState, JobStatus, TaskCounts, TaskState } from '../protocol/http.ts';
import { fromDbBytes } from './bytes.ts';
import type { Db } from './db.ts';
import type { JobsTable } from './schema.ts';
import type { JobBrief, JobQuery, SettledResult, TaskResult } from './store.ts';
import { parseTaskErrors } from './task-history.ts';

/** The state of a job that streamed requests are still creating: it exists for nobody. */
export const STAGING = 'staging';

/** A job's status from its row, with its tasks counted by state. */
async function statusOf(db: Db, job: Selectable<JobsTable>): Promise<JobStatus> {
  const rows = await db
    .selectFrom('tasks')
    .select(['state', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
    .where('job_id', '=', job.id)
    .where('idx', '<', Number(job.task_count))
    .groupBy('state')
    .execute();
  const counts: TaskCounts = { total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
  for (const row of rows) {
    const n = Number(row.n);
    counts.total += n;
    if (row.state in counts) counts[row.state as TaskState] += n;
  }
  const status: JobStatus = {
    id: job.id,
    state: job.state as JobState,
    module: job.module_hash,
    redundancy: Number(job.redundancy),
    quorum: Number(job.quorum),
    adaptiveReplication: Number(job.adaptive) !== 0,
    deadlineMs: Number(job.deadline_ms),
    maxAttempts: Number(job.max_attempts),
    priority: Number(job.priority),
    createdAt: Number(job.created_at),
    owner: job.owner,
    open: Number(job.open) !== 0,
    counts,
  };
  if (job.title !== null) status.title = job.title;
  if (job.purpose !== null) status.purpose = job.purpose;
  if (job.site_key !== null) status.site = job.site_key;
  return status;
}

export async function readJobStatus(db: Db, id: string): Promise<JobStatus | undefined> {
  const job = await db.selectFrom('jobs').selectAll().where('id', '=', id).where('state', '!=', STAGING).executeTakeFirst();
  return job && statusOf(db, job);
}

export async function readJobState(db: Db, id: string): Promise<JobBrief | undefined> {
  const job = await db.selectFrom('jobs').select(['state', 'open', 'owner']).where('id', '=', id).where('state', '!=', STAGING).executeTakeFirst();
  return job && { state: job.state as JobState, open: Number(job.open) !== 0, owner: job.owner };
}

export async function listJobStatuses(db: Db, query: JobQuery): Promise<JobStatus[]> {
  let select = db.selectFrom('jobs').selectAll().where('state', '!=', STAGING);
  if (query.state) select = select.where('state', '=', query.state);
  if (query.owner !== undefined) select = select.where('owner', '=', query.owner);
  const jobs = await select.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(Math.max(1, Math.floor(query.limit))).execute();
  const statuses: JobStatus[] = [];
  for (const job of jobs) statuses.push(await statusOf(db, job));
  return statuses;
}

function toResult(row: { idx: number; state: string; output: Uint8Array | null; errors: string | null }): TaskResult {
  const result: TaskResult = { index: Number(row.idx), state: row.state as TaskState };
  if (row.state === 'completed' && row.output !== null) result.output = fromDbBytes(row.output);
  const errors = parseTaskErrors(row.errors);
  if (errors.length > 0) result.errors = errors;
  return result;
}

/** The number of tasks that exist in a job (0 for no such job). */
async function taskCount(db: Db, jobId: string): Promise<number> {
  const job = await db.selectFrom('jobs').select('task_count').where('id', '=', jobId).executeTakeFirst();
  return Number(job?.task_count ?? 0);
}

export async function readResults(db: Db, jobId: string, fromIndex: number, limit: number): Promise<TaskResult[]> {
  if (limit < 1) return [];
  const rows = await db
    .selectFrom('tasks')
    .select(['idx', 'state', 'output', 'errors'])
    .where('job_id', '=', jobId)
    .where('idx', '>=', Math.max(0, Math.floor(fromIndex)))
    .where('idx', '<', await taskCount(db, jobId))
    .orderBy('idx')
    .limit(Math.floor(limit))
    .execute();
  return rows.map(toResult);
}

export async function readSettled(db: Db, jobId: string, afterSeq: number, limit: number): Promise<SettledResult[]> {
  if (limit < 1) return [];
  const rows = await db
    .selectFrom('tasks')
    .select(['idx', 'state', 'output', 'errors', 'settled_seq'])
    .where('job_id', '=', jobId)
    .where('settled_seq', '>', Math.max(0, Math.floor(afterSeq)))
    .orderBy('settled_seq')
    .limit(Math.floor(limit))
    .execute();
  return rows.map((row) => ({ ...toResult(row), seq: Number(row.settled_seq) }));
}

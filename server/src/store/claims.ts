/**
 * A claim inside one store transaction, as read → pure plan → batched write. The decisions are
 * `scheduler/claim-plan.ts`'s: `claimAllowance` (cool-down, quota, prefetch bound) from the
 * volunteer's record and held leases, then `planClaim` (fair share, replication, deadlines) from
 * the candidate jobs and tasks. This module only reads their inputs, in as few statements as it
 * can, and writes their outcome: one update per group of tasks that end alike and one multi-row
 * insert of leases, except those of fresh tasks that want one replica, kept unwritten for their
 * lone result (`granted-leases.ts`).
 *
 * Statements per claim: 2 to 3 reads before the allowance (record, held leases, and the answers
 * awaiting a verdict only for a struck volunteer); then jobs with work (plus their live leases
 * when two or more compete), every job's candidate tasks in one statement (locked with
 * `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent nodes never pick the same rows), and the
 * writes.
 */
import { sql } from 'kysely';
import { claimAllowance, planClaim, type ClaimJob, type PlannedLease } from '../scheduler/claim-plan.ts';
import { COOLDOWN } from '../scheduler/reputation.ts';
import { fromDbBytes } from './bytes.ts';
import type { Db, StoreContext } from './db.ts';
import type { FreshTaskPool, FreshTaskRow, ReadPending } from './fresh-tasks.ts';
import type { GrantedLeases } from './granted-leases.ts';
import { ANSWERED, LIVE } from './lease-states.ts';
import { insertNewLeases, type NewLeaseRow } from './lease-rows.ts';
import { listPlaceholders, prepared, runOverList } from './prepared.ts';
import type { Database } from './schema.ts';
import type { ClaimOutcome, ClaimRequest, ClaimedLease } from './store.ts';
import { findVolunteer, insertVolunteer, lockedVolunteer } from './volunteer-store.ts';

/** The wire task id of a task: tasks are keyed by (job, input index). */
export function taskIdOf(jobId: string, index: number): string {
  return `${jobId}:${index}`;
}

/** Deadlines of the volunteer's live leases, by session (those not written yet too). */
async function liveLeases(trx: Db, ctx: StoreContext, volunteerId: string): Promise<{ session_id: string; deadline: number }[]> {
  const { rows } = await ctx.run(trx, LIVE_LEASES, { volunteerId });
  const unwritten = ctx.granted?.heldBy(volunteerId) ?? [];
  return unwritten.length > 0 ? [...rows, ...unwritten] : rows;
}

const LIVE_LEASES = prepared<{ volunteerId: string }, { session_id: string; deadline: number }>('claims.live-leases', (db, p) =>
  db.selectFrom('leases').select(['session_id', 'deadline']).where('volunteer_id', '=', p('volunteerId')).where('state', '=', LIVE),
);

/**
 * The volunteer's recent results (since `since`) on tasks still open that wait for other replicas
 * to be judged. Recent only: a task may stay open long (too few distinct volunteers), and must not
 * hold a struck volunteer back for longer than its longest cool-down.
 */
async function awaitingVerdicts(trx: Db, volunteerId: string, since: number): Promise<number> {
  const row = await trx
    .selectFrom('leases')
    .innerJoin('tasks', (join) => join.onRef('tasks.job_id', '=', 'leases.job_id').onRef('tasks.idx', '=', 'leases.task_idx'))
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('leases.volunteer_id', '=', volunteerId)
    .where('leases.state', '=', ANSWERED)
    .where('leases.verdict', 'is', null)
    .where('leases.ended_at', '>', since)
    .where('tasks.state', 'in', ['pending', 'running'])
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Active jobs with a pending task that exists (a streamed request's inputs wait past `task_count`). */
async function jobsWithWork(trx: Db, ctx: StoreContext) {
  return (await ctx.run(trx, JOBS_WITH_WORK, {})).rows;
}

const JOBS_WITH_WORK = prepared('claims.jobs-with-work', (db) =>
  db
    .selectFrom('jobs')
    .select(['id', 'module_hash', 'title', 'purpose', 'priority', 'created_at', 'deadline_ms', 'redundancy', 'quorum', 'adaptive', 'task_count', 'max_attempts'])
    .where('state', '=', 'active')
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('tasks')
          .select('tasks.idx')
          .whereRef('tasks.job_id', '=', 'jobs.id')
          .where('tasks.state', '=', 'pending')
          .whereRef('tasks.idx', '<', 'jobs.task_count'),
      ),
    ),
);

/** Live leases per job (those not written yet too): shares matter only between jobs, so with one job there is nothing to read. */
async function liveByJob(trx: Db, ctx: StoreContext, jobIds: readonly string[]): Promise<Map<string, number>> {
  if (jobIds.length < 2) return new Map();
  const rows = await trx
    .selectFrom('leases')
    .select(['job_id', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
    .where('state', '=', LIVE)
    .where('job_id', 'in', [...jobIds])
    .groupBy('job_id')
    .execute();
  const written = new Map(rows.map((row) => [row.job_id, Number(row.n)]));
  return new Map(jobIds.map((id) => [id, (written.get(id) ?? 0) + (ctx.granted?.liveOf(id) ?? 0)]));
}

/**
 * Up to `limit` tasks per job that the volunteer may take, in index order: open for another
 * replica, existing, and none of their replicas already with this volunteer (live or answered).
 * Jobs whose fresh-task pool vouches for them are answered from it (`fresh` too: what their
 * leases' results may remember); the others by the database's pick.
 */
async function candidateTasks(
  trx: Db,
  ctx: StoreContext,
  jobs: readonly { id: string; task_count: number }[],
  volunteerId: string,
  limit: number,
): Promise<{ rows: CandidateRow[]; fresh: FreshTaskRow[] }> {
  const pool = ctx.freshTasks;
  if (!pool) return { rows: await pickCandidates(trx, ctx, jobs, volunteerId, limit), fresh: [] };
  pool.keepOnly(jobs.map((job) => job.id));
  const read: ReadPending = async (jobId, from, below, rows) => (await ctx.run(trx, PENDING_FROM, { jobId, from, below, rows })).rows;
  const fresh: FreshTaskRow[] = [];
  const unvouched: (typeof jobs)[number][] = [];
  for (const job of jobs) {
    const rows = await pool.candidates(job.id, Number(job.task_count), limit, read);
    if (rows) fresh.push(...rows);
    else unvouched.push(job);
  }
  const picked = unvouched.length > 0 ? await pickCandidates(trx, ctx, unvouched, volunteerId, limit) : [];
  return { rows: [...fresh, ...picked], fresh };
}

/** Pending tasks of one job from an index on, with what the pool needs to tell fresh ones (`fresh-tasks.ts`). */
const PENDING_FROM = prepared<{ jobId: string; from: number; below: number; rows: number }, FreshTaskRow>('claims.pending-from', (db, p) =>
  db
    .selectFrom('tasks')
    .select(['job_id', 'idx', 'input', 'live', 'results', 'wanted', 'needed', 'attempts', 'errors', 'failures', 'releases'])
    .where('job_id', '=', p('jobId'))
    .where('state', '=', 'pending')
    .where('idx', '>=', p('from'))
    .where('idx', '<', p('below'))
    .orderBy('idx')
    .limit(p('rows')),
);

/**
 * The database's pick of `candidateTasks`, for every job in one statement. Each job's pick is its
 * own subquery with its own `LIMIT` (so it stops early on the index), joined by `UNION ALL`; on
 * PostgreSQL each locks what it picks and skips rows another node's claim holds.
 */
async function pickCandidates(trx: Db, ctx: StoreContext, jobs: readonly { id: string; task_count: number }[], volunteerId: string, limit: number): Promise<CandidateRow[]> {
  if (jobs.length === 0) return [];
  const values: Record<string, unknown> = { volunteerId, limit };
  jobs.forEach((job, n) => {
    values[`job${n}`] = job.id;
    values[`count${n}`] = Number(job.task_count);
  });
  return (await ctx.run(trx, candidateTasksQuery(jobs.length, ctx.caps.skipLocked), values)).rows;
}

type CandidateRow = Pick<Database['tasks'], 'job_id' | 'idx' | 'input' | 'live' | 'results' | 'wanted' | 'needed'>;

/** The candidate pick for `jobs` jobs, one compiled form per number of jobs. */
function candidateTasksQuery(jobs: number, skipLocked: boolean) {
  return prepared<Record<string, unknown>, CandidateRow>(`claims.candidates:${jobs}:${skipLocked}`, (db, p) => {
    const picks = Array.from({ length: jobs }, (_, n) => {
      let pick = db
        .selectFrom('tasks')
        .select(['job_id', 'idx', 'input', 'live', 'results', 'wanted', 'needed'])
        .where('job_id', '=', p(`job${n}`) as string)
        .where('state', '=', 'pending')
        .where('idx', '<', p(`count${n}`) as number)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('leases')
                .select('leases.id')
                .whereRef('leases.job_id', '=', 'tasks.job_id')
                .whereRef('leases.task_idx', '=', 'tasks.idx')
                .where('leases.volunteer_id', '=', p('volunteerId') as string)
                .where('leases.state', 'in', ['active', 'completed']),
            ),
          ),
        )
        .orderBy('idx')
        .limit(p('limit') as number);
      if (skipLocked) pick = pick.forUpdate().skipLocked();
      return db.selectFrom(pick.as(`pick${n}`)).selectAll();
    });
    const [first, ...rest] = picks;
    return rest.reduce((query, next) => query.unionAll(next), first!);
  });
}

/**
 * Keeps the leases made on fresh tasks that want no other replica unwritten, with their task's view
 * as this claim wrote it, for their results (`granted-leases.ts`); returns the rows kept. A task
 * read by the database's pick is not: its history (errors, failures, releases) was not read.
 */
function rememberGranted(
  granted: GrantedLeases,
  rows: readonly NewLeaseRow[],
  planned: readonly PlannedLease[],
  fresh: readonly FreshTaskRow[],
  jobs: ReadonlyMap<string, { redundancy: number; quorum: number; max_attempts: number }>,
): Set<NewLeaseRow> {
  const kept = new Set<NewLeaseRow>();
  if (fresh.length === 0) return kept;
  for (let n = 0; n < planned.length; n++) {
    const lease = planned[n]!;
    const row = rows[n]!;
    // A task still wanting replicas changes with the next claim of it: its lease is not remembered.
    if (lease.task.state !== 'running') continue;
    const task = fresh.find((candidate) => candidate.job_id === lease.jobId && Number(candidate.idx) === lease.idx);
    const job = jobs.get(lease.jobId);
    if (!task || !job) continue;
    const remembered = granted.remember({
      lease: {
        id: row.id,
        job_id: row.job_id,
        task_idx: row.task_idx,
        volunteer_id: row.volunteer_id,
        session_id: row.session_id,
        site_key: row.site_key,
        state: row.state,
        issued_at: row.issued_at,
        deadline: row.deadline,
        ended_at: null,
        cpu_ms: null,
        output_hash: null,
        error_kind: null,
        error_message: null,
        verdict: null,
        address: row.address,
      },
      task: {
        state: lease.task.state,
        attempts: Number(task.attempts) + 1,
        errors: task.errors,
        live: lease.task.live,
        results: Number(task.results),
        wanted: lease.task.wanted,
        needed: lease.task.needed,
        failures: Number(task.failures),
        releases: Number(task.releases),
        redundancy: job.redundancy,
        quorum: job.quorum,
        max_attempts: job.max_attempts,
      },
    });
    if (remembered) kept.add(row);
  }
  return kept;
}

/** Tells the pool of fresh tasks which of its tasks the plan took (it offered each job's first ones). */
function tellPool(pool: FreshTaskPool, leases: readonly PlannedLease[]): void {
  const byJob = new Map<string, { idxs: number[]; leftPending: boolean }>();
  for (const lease of leases) {
    const job = byJob.get(lease.jobId) ?? { idxs: [], leftPending: false };
    job.idxs.push(lease.idx);
    job.leftPending ||= lease.task.state === 'pending';
    byJob.set(lease.jobId, job);
  }
  for (const [jobId, job] of byJob) pool.taken(jobId, job.idxs, job.leftPending);
}

/** Groups planned leases whose tasks end alike, so each group is one `UPDATE`. */
function taskUpdateGroups(leases: readonly PlannedLease[]): { jobId: string; task: PlannedLease['task']; idxs: number[] }[] {
  const groups = new Map<string, { jobId: string; task: PlannedLease['task']; idxs: number[] }>();
  for (const lease of leases) {
    const { live, state, wanted, needed } = lease.task;
    const key = JSON.stringify([lease.jobId, live, state, wanted, needed]);
    const group = groups.get(key);
    if (group) group.idxs.push(lease.idx);
    else groups.set(key, { jobId: lease.jobId, task: lease.task, idxs: [lease.idx] });
  }
  return [...groups.values()];
}

/** Marks up to `length` tasks of one job leased alike (one compiled form per padded length). */
function leasedTasksUpdate(length: number) {
  return prepared<Record<string, unknown>, never>(`claims.tasks-leased:${length}`, (db, p) =>
    db
      .updateTable('tasks')
      .set({ live: p('live') as number, state: p('state') as string, wanted: p('wanted') as number, needed: p('needed') as number, attempts: sql<number>`attempts + 1`, updated_at: p('now') as number })
      .where('job_id', '=', p('jobId') as string)
      .where('idx', 'in', listPlaceholders<number>(p, 'idx', length)),
  );
}

/** Leases up to `slots` replicas to the volunteer of `request`; see `Store.claimTasks`. */
export async function claimReplicas(trx: Db, ctx: StoreContext, request: ClaimRequest, slots: number): Promise<ClaimOutcome> {
  const { volunteerId, sessionId, now } = request;
  // With concurrent writers the volunteer's record is locked (made first if new): its claims on
  // several nodes take turns, so its quota and one-replica-per-volunteer see each other's leases.
  const volunteer = ctx.caps.rowLocks ? await lockedVolunteer(trx, ctx, volunteerId, now) : await findVolunteer(trx, ctx, volunteerId);
  const held = await liveLeases(trx, ctx, volunteerId);
  const sessionDeadlines = held.filter((lease) => lease.session_id === sessionId).map((lease) => Number(lease.deadline));
  const allowance = claimAllowance({
    now,
    asked: slots,
    workers: request.workers,
    volunteer,
    quota: ctx.quota,
    heldByVolunteer: held.length,
    heldBySession: sessionDeadlines.length,
    awaitingVerdicts: volunteer && volunteer.strikes > 0 ? await awaitingVerdicts(trx, volunteerId, now - COOLDOWN.maxMs) : 0,
  });
  if ('empty' in allowance) return { leases: [], empty: allowance.empty };
  // A volunteer's record exists from its first claim on, whether it gets work or not.
  if (allowance.fresh) await insertVolunteer(trx, ctx, volunteerId, now, allowance.reputation);

  const jobRows = await jobsWithWork(trx, ctx);
  if (jobRows.length === 0) {
    ctx.freshTasks?.keepOnly([]);
    return { leases: [], empty: { reason: 'no_work' } };
  }
  const live = await liveByJob(
    trx,
    ctx,
    jobRows.map((job) => job.id),
  );
  const { rows: taskRows, fresh } = await candidateTasks(trx, ctx, jobRows, volunteerId, allowance.grant);
  const inputs = new Map(taskRows.map((row) => [taskIdOf(row.job_id, Number(row.idx)), row.input]));
  const jobs: ClaimJob[] = jobRows.map((job) => ({
    id: job.id,
    moduleHash: job.module_hash,
    priority: Number(job.priority),
    live: live.get(job.id) ?? 0,
    createdAt: Number(job.created_at),
    deadlineMs: Number(job.deadline_ms),
    redundancy: Number(job.redundancy),
    quorum: Number(job.quorum),
    adaptive: Number(job.adaptive) !== 0,
    tasks: taskRows
      .filter((row) => row.job_id === job.id)
      .map((row) => ({ idx: Number(row.idx), live: Number(row.live), results: Number(row.results), wanted: Number(row.wanted), needed: Number(row.needed) }))
      .sort((a, b) => a.idx - b.idx),
  }));
  const plan = planClaim({
    now,
    grant: allowance.grant,
    reputation: allowance.reputation,
    workers: request.workers,
    sessionDeadlines,
    jobs,
    cached: request.cached,
    random: request.random,
  });
  if (plan.leases.length === 0) return { leases: [], ...(plan.empty ? { empty: plan.empty } : {}) };
  if (ctx.freshTasks) tellPool(ctx.freshTasks, plan.leases);

  for (const group of taskUpdateGroups(plan.leases)) {
    await runOverList(ctx, trx, leasedTasksUpdate, 'idx', group.idxs, { ...group.task, jobId: group.jobId, now });
  }
  const leaseIds = plan.leases.map(() => request.newLeaseId());
  const rows = plan.leases.map((lease, n): NewLeaseRow => ({
    id: leaseIds[n]!,
    job_id: lease.jobId,
    task_idx: lease.idx,
    volunteer_id: volunteerId,
    session_id: sessionId,
    site_key: request.siteKey,
    state: 'active',
    issued_at: now,
    deadline: lease.deadline,
    address: request.address ?? null,
  }));
  const byId = new Map(jobRows.map((job) => [job.id, job]));
  // Grants a lone result will likely end soon stay unwritten; the rest are inserted now.
  const kept = ctx.granted ? rememberGranted(ctx.granted, rows, plan.leases, fresh, byId) : undefined;
  await insertNewLeases(trx, ctx, kept?.size ? rows.filter((row) => !kept.has(row)) : rows);

  const leases = plan.leases.map((lease, n): ClaimedLease => {
    const job = byId.get(lease.jobId)!;
    const taskId = taskIdOf(lease.jobId, lease.idx);
    return {
      leaseId: leaseIds[n]!,
      taskId,
      jobId: lease.jobId,
      jobTitle: job.title,
      jobPurpose: job.purpose,
      index: lease.idx,
      moduleHash: job.module_hash,
      input: fromDbBytes(inputs.get(taskId)!),
      deadline: lease.deadline,
      deadlineMs: lease.deadlineMs,
    };
  });
  return { leases };
}

/**
 * A claim inside one store transaction: whether the volunteer may take any now (its cool-down
 * after a strike), how many leases it may take (its quota and its session's prefetch bound),
 * which jobs they come from (fair share with locality), and each task's replication when it is
 * fresh (adaptive replication). The decisions are the pure functions of `scheduler/`; this module
 * reads their inputs and writes their outcome.
 */
import { planClaim, type ShareCandidate } from '../scheduler/fair-share.ts';
import { leaseBudget } from '../scheduler/leases.ts';
import { openTaskState } from '../scheduler/quorum.ts';
import { COOLDOWN, claimableFrom, replicationFor } from '../scheduler/reputation.ts';
import { fromDbBytes } from './bytes.ts';
import type { Db, StoreContext } from './db.ts';
import type { ClaimRequest, ClaimedLease } from './store.ts';
import { findVolunteer, updateReputation } from './volunteer-store.ts';

/** The wire task id of a task: tasks are keyed by (job, input index). */
export function taskIdOf(jobId: string, index: number): string {
  return `${jobId}:${index}`;
}

/** Live leases of the volunteer, and of the one session of it that asks (a session is one volunteer's). */
async function liveHeld(trx: Db, volunteerId: string, sessionId: string): Promise<{ volunteer: number; session: number }> {
  const rows = await trx
    .selectFrom('leases')
    .select(['session_id', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
    .where('volunteer_id', '=', volunteerId)
    .where('state', '=', 'active')
    .groupBy('session_id')
    .execute();
  let volunteer = 0;
  let session = 0;
  for (const row of rows) {
    volunteer += Number(row.n);
    if (row.session_id === sessionId) session = Number(row.n);
  }
  return { volunteer, session };
}

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
    .where('leases.state', '=', 'completed')
    .where('leases.verdict', 'is', null)
    .where('leases.ended_at', '>', since)
    .where('tasks.state', 'in', ['pending', 'running'])
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Leases up to `slots` replicas to the volunteer of `request`; see `Store.claimTasks`. */
export async function claimReplicas(trx: Db, ctx: StoreContext, request: ClaimRequest, slots: number): Promise<ClaimedLease[]> {
  const { volunteerId, now } = request;
  const record = await findVolunteer(trx, volunteerId);
  // Cooling down after a strike (a disagreement or an expired lease): nothing for now.
  if (record && now < claimableFrom(record, record.struckAt)) return [];
  const rep = record ?? (await updateReputation(trx, volunteerId, now, ctx.quota, (fresh) => fresh));
  const held = await liveHeld(trx, volunteerId, request.sessionId);
  // A struck volunteer's answers still waiting for a verdict count against its quota: a liar that
  // answers at once must not take a fresh lease per round trip while its lies wait to be judged.
  const awaiting = rep.strikes > 0 ? await awaitingVerdicts(trx, volunteerId, now - COOLDOWN.maxMs) : 0;
  const grant = leaseBudget({
    asked: slots,
    workers: request.workers,
    quota: rep.quota,
    heldByVolunteer: held.volunteer + awaiting,
    heldBySession: held.session,
  });
  if (grant === 0) return [];

  const jobs = await trx
    .selectFrom('jobs')
    .select(['id', 'module_hash', 'title', 'purpose', 'priority', 'created_at', 'deadline_ms', 'redundancy', 'quorum', 'adaptive', 'task_count'])
    .where('state', '=', 'active')
    // Only tasks that exist: a streamed request's inputs wait past `task_count` until it succeeds.
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('tasks')
          .select('tasks.idx')
          .whereRef('tasks.job_id', '=', 'jobs.id')
          .where('tasks.state', '=', 'pending')
          .whereRef('tasks.idx', '<', 'jobs.task_count'),
      ),
    )
    .execute();
  if (jobs.length === 0) return [];
  // Shares matter only between jobs: with one job there is nothing to weigh.
  const liveRows =
    jobs.length < 2
      ? []
      : await trx
          .selectFrom('leases')
          .select(['job_id', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
          .where('state', '=', 'active')
          .where(
            'job_id',
            'in',
            jobs.map((j) => j.id),
          )
          .groupBy('job_id')
          .execute();
  const liveByJob = new Map(liveRows.map((row) => [row.job_id, Number(row.n)]));

  // Tasks this volunteer may take from each job: open for another replica, and none of their
  // replicas already with this volunteer (live or answered).
  const claimable = new Map<string, { idx: number; input: Uint8Array; live: number; results: number; wanted: number; needed: number }[]>();
  const candidates: ShareCandidate[] = [];
  for (const job of jobs) {
    let pick = trx
      .selectFrom('tasks')
      .select(['idx', 'input', 'live', 'results', 'wanted', 'needed'])
      .where('job_id', '=', job.id)
      .where('state', '=', 'pending')
      .where('idx', '<', Number(job.task_count))
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('leases')
              .select('leases.id')
              .whereRef('leases.job_id', '=', 'tasks.job_id')
              .whereRef('leases.task_idx', '=', 'tasks.idx')
              .where('leases.volunteer_id', '=', volunteerId)
              .where('leases.state', 'in', ['active', 'completed']),
          ),
        ),
      )
      .orderBy('idx')
      .limit(grant);
    if (ctx.caps.skipLocked) pick = pick.forUpdate().skipLocked();
    const rows = await pick.execute();
    claimable.set(
      job.id,
      rows.map((row) => ({
        idx: Number(row.idx),
        input: row.input,
        live: Number(row.live),
        results: Number(row.results),
        wanted: Number(row.wanted),
        needed: Number(row.needed),
      })),
    );
    candidates.push({
      id: job.id,
      moduleHash: job.module_hash,
      weight: Number(job.priority),
      live: liveByJob.get(job.id) ?? 0,
      claimable: rows.length,
      createdAt: Number(job.created_at),
    });
  }

  const byId = new Map(jobs.map((job) => [job.id, job]));
  const claimed: ClaimedLease[] = [];
  for (const { jobId, count } of planClaim(candidates, grant, request.cached)) {
    const job = byId.get(jobId)!;
    const deadlineMs = Number(job.deadline_ms);
    const deadline = now + deadlineMs;
    for (const task of (claimable.get(jobId) ?? []).slice(0, count)) {
      const fresh = task.live === 0 && task.results === 0;
      const target = fresh
        ? replicationFor(
            { redundancy: Number(job.redundancy), quorum: Number(job.quorum), adaptive: Number(job.adaptive) !== 0 },
            rep,
            request.random(),
          )
        : { replicas: task.wanted, quorum: task.needed };
      const live = task.live + 1;
      await trx
        .updateTable('tasks')
        .set((eb) => ({
          state: openTaskState({ live, results: task.results, wanted: target.replicas }),
          live,
          wanted: target.replicas,
          needed: target.quorum,
          attempts: eb('attempts', '+', 1),
          updated_at: now,
        }))
        .where('job_id', '=', jobId)
        .where('idx', '=', task.idx)
        .execute();
      const leaseId = request.newLeaseId();
      await trx
        .insertInto('leases')
        .values({
          id: leaseId,
          job_id: jobId,
          task_idx: task.idx,
          volunteer_id: volunteerId,
          session_id: request.sessionId,
          site_key: request.siteKey,
          state: 'active',
          issued_at: now,
          deadline,
          ended_at: null,
          cpu_ms: null,
          output_hash: null,
          error_kind: null,
          error_message: null,
          output: null,
          verdict: null,
        })
        .execute();
      claimed.push({
        leaseId,
        taskId: taskIdOf(jobId, task.idx),
        jobId,
        jobTitle: job.title,
        jobPurpose: job.purpose,
        index: task.idx,
        moduleHash: job.module_hash,
        input: fromDbBytes(task.input),
        deadline,
        deadlineMs,
      });
    }
  }
  return claimed;
}

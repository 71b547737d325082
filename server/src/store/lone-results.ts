/**
 * A group commit's results, taken together (or one result alone, `completeAloneIn`). Most results
 * of a busy grid end the only live replica of a task that needs no quorum (r = 1, or adaptive
 * replication's unchecked majority): the task machine then needs that lease, the task row and
 * nothing else. For those, this module reads the
 * leases, the tasks and their volunteers' records in a few statements for the whole batch (a lease
 * granted and not written yet, `granted-leases.ts`, comes from memory with its task's view), asks
 * the machine (`decide`) about each, and writes each lease (an unwritten one inserted whole,
 * `lease-rows.ts`) and task, each volunteer's record once and each job's completion order once.
 * Per result that spares four statements of the one-by-one path (`answers.ts`), and on PostgreSQL
 * four round trips.
 *
 * Anything else (a replica with others to judge, a stale or repeated answer, a task answered twice
 * in the batch, a plan that revokes or judges other leases) is left to the one-by-one path, which
 * runs after this in the same transaction: the outcome is the same either way.
 */
import { applyReputationChange, isStrikeChange } from '../scheduler/reputation-change.ts';
import { newReputation, type Reputation } from '../scheduler/reputation.ts';
import { decide, jobSourcesQuestion, type Plan, type TaskView } from '../scheduler/task-machine.ts';
import { sha256Hex } from './bytes.ts';
import type { Db, StoreContext } from './db.ts';
import type { Granted, GrantedLease } from './granted-leases.ts';
import { settleInOrder, settleJob } from './job-settling.ts';
import { LEASE_COLUMNS, TASK_VIEW_COLUMNS, taskViewOf, toFacts, writeLease, writeTask, type LeaseRow, type TaskViewRow } from './lease-endings.ts';
import { insertEndedLeases, insertNewLeases, type EndedUnwritten } from './lease-rows.ts';
import { listPlaceholders, prepared, runOverList } from './prepared.ts';
import type { AnswerEffects, CompleteOutcome, CompleteRequest } from './store.ts';
import { findVolunteers, writeReputation } from './volunteer-store.ts';

type LeaseFactsRow = Omit<LeaseRow, 'output'>;

/** A result this module takes, with what it read and decided for it. */
interface Taken {
  request: CompleteRequest;
  lease: LeaseFactsRow;
  errors: string | null;
  plan: Plan;
}

/**
 * Records the lone results among `requests` (in batch order; each lease at most once, answered by
 * no other operation of the batch). Takes only a prefix of each volunteer's requests, so a
 * volunteer's results keep their order. Returns the effects by position in `requests`; a position
 * without one is left to the one-by-one path.
 */
export async function recordLoneResults(trx: Db, ctx: StoreContext, requests: readonly CompleteRequest[]): Promise<Map<number, AnswerEffects<CompleteOutcome>>> {
  const done = new Map<number, AnswerEffects<CompleteOutcome>>();
  if (requests.length === 0) return done;
  // Leases granted and not written yet are remembered with their task's view: not read.
  const remembered = new Map<string, Granted>();
  for (const request of requests) {
    const granted = ctx.granted?.take(request.leaseId);
    if (granted) remembered.set(request.leaseId, granted);
  }
  const unread = requests.filter((request) => !remembered.has(request.leaseId)).map((request) => request.leaseId);
  const leases = unread.length > 0 ? await readLeases(trx, ctx, unread) : new Map<string, LeaseFactsRow>();
  for (const [id, granted] of remembered) leases.set(id, granted.lease);
  // A live lease of the caller's, on a task no other result of the batch answers.
  const open = new Map<number, LeaseFactsRow>();
  const perTask = new Map<string, number>();
  requests.forEach((request, at) => {
    const lease = leases.get(request.leaseId);
    if (!lease || lease.volunteer_id !== request.volunteerId || lease.state !== 'active') return;
    open.set(at, lease);
    const task = `${lease.job_id}:${lease.task_idx}`;
    perTask.set(task, (perTask.get(task) ?? 0) + 1);
  });
  for (const [at, lease] of open) if (perTask.get(`${lease.job_id}:${lease.task_idx}`)! > 1) open.delete(at);
  if (open.size === 0) {
    putBack(ctx, remembered, new Set());
    return done;
  }

  const tasks = await readTaskViews(
    trx,
    ctx,
    [...open.values()].filter((lease) => !remembered.has(lease.id)),
  );
  for (const lease of open.values()) {
    const granted = remembered.get(lease.id);
    if (granted) tasks.set(`${lease.job_id}:${lease.task_idx}`, granted.task);
  }
  const taken: Taken[] = [];
  const stopped = new Set<string>();
  for (const [at, request] of requests.entries()) {
    if (stopped.has(request.volunteerId)) continue;
    const item = decideLone(request, open.get(at), tasks);
    if (!item) {
      stopped.add(request.volunteerId);
      continue;
    }
    taken.push(item);
    done.set(at, { outcome: 'accepted', jobId: item.lease.job_id, revoked: [], reopened: item.plan.reopened });
  }
  putBack(
    ctx,
    remembered,
    new Set(taken.map((item) => item.lease.id)),
  );
  if (taken.length === 0) return done;

  await writeReputations(trx, ctx, taken);
  const { places, jobs } = await takeSettledPlaces(trx, ctx, taken);
  const unwritten: EndedUnwritten[] = [];
  const stillLive: GrantedLease[] = [];
  for (const item of taken) {
    const { plan, lease, request } = item;
    // A lease never written gets its row whole: ended by the plan, or live if the plan leaves it so.
    if (remembered.has(lease.id)) {
      if (plan.lease) unwritten.push({ lease, write: plan.lease, output: request.output });
      else stillLive.push(lease);
    } else if (plan.lease) await writeLease(trx, ctx, lease.id, plan.lease, request.output);
    if (plan.task) {
      const settledSeq = places.get(item);
      await writeTask(trx, ctx, { jobId: lease.job_id, idx: Number(lease.task_idx) }, plan.task, {
        now: request.now,
        errors: item.errors,
        ...(plan.task.output === 'event' ? { output: request.output } : {}),
        ...(settledSeq !== undefined ? { settledSeq } : {}),
      });
    }
  }
  await insertEndedLeases(trx, ctx, unwritten);
  await insertNewLeases(trx, ctx, stillLive);
  await settleFinishedJobs(trx, ctx, taken, jobs);
  return done;
}

/** Unwritten leases taken and not `ending` here stay unwritten, for the path that ends them (which writes them first). */
function putBack(ctx: StoreContext, remembered: ReadonlyMap<string, Granted>, ending: ReadonlySet<string>): void {
  for (const [id, granted] of remembered) if (!ending.has(id)) ctx.granted?.putBack(granted);
}

/** The machine's plan for a lone result (`undefined`: not one, or its plan reaches further). */
function decideLone(request: CompleteRequest, lease: LeaseFactsRow | undefined, tasks: ReadonlyMap<string, TaskViewRow>): Taken | undefined {
  const row = lease && tasks.get(`${lease.job_id}:${lease.task_idx}`);
  if (!lease || !row) return undefined;
  const { view: taskView, errors } = taskViewOf(row);
  if (taskView.task.needed > 1 || taskView.task.live > 1) return undefined;
  const outputHash = sha256Hex(request.output);
  const view: TaskView = { ...taskView, lease: toFacts(lease, false), others: [], trusted: new Set() };
  const event = { kind: 'result', outputHash, cpuMs: request.cpuMs, now: request.now } as const;
  if (jobSourcesQuestion(view, event)) return undefined;
  const plan = decide(view, event);
  return touchesOnlyItself(plan, lease) ? { request, lease, errors, plan } : undefined;
}

/** Items by their job, each job's in the order given. */
function groupedByJob<T>(entries: readonly { jobId: string; item: T }[]): Map<string, T[]> {
  const byJob = new Map<string, T[]>();
  for (const { jobId, item } of entries) {
    const items = byJob.get(jobId);
    if (items) items.push(item);
    else byJob.set(jobId, [item]);
  }
  return byJob;
}

/** Entries keyed by job id in id order: rows of several jobs are locked in one order. */
const byJobId = ([a]: readonly [string, unknown], [b]: readonly [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

/** Whether `plan` writes only the lease it ends, its task and its own volunteer's record. */
function touchesOnlyItself(plan: Plan, lease: LeaseFactsRow): boolean {
  return (
    plan.verdicts.length === 0 &&
    plan.revoke.length === 0 &&
    !plan.dropReplicaOutputs &&
    (plan.task?.output === undefined || plan.task.output === 'event') &&
    plan.reputation.every((r) => r.volunteerId === lease.volunteer_id && !isStrikeChange(r.change))
  );
}

/** The leases of `ids` that exist, by id (locked in id order with concurrent writers). */
async function readLeases(trx: Db, ctx: StoreContext, ids: readonly string[]): Promise<Map<string, LeaseFactsRow>> {
  const rows = await runOverList(ctx, trx, (length) => leasesQuery(length, ctx.caps.rowLocks), 'id', [...new Set(ids)].sort());
  return new Map(rows.map((row) => [row.id, row]));
}

function leasesQuery(length: number, lock: boolean) {
  return prepared<Record<string, unknown>, LeaseFactsRow>(`leases.find-many:${length}:${lock}`, (db, p) => {
    const read = db.selectFrom('leases').select(LEASE_COLUMNS).where('id', 'in', listPlaceholders<string>(p, 'id', length));
    return lock ? read.orderBy('id').forUpdate() : read;
  });
}

/** The task views of the leases' tasks, keyed `job:idx` (locked in index order with concurrent writers). */
async function readTaskViews(trx: Db, ctx: StoreContext, leases: readonly LeaseFactsRow[]): Promise<Map<string, TaskViewRow>> {
  const byJob = groupedByJob(leases.map((lease) => ({ jobId: lease.job_id, item: Number(lease.task_idx) })));
  const found = new Map<string, TaskViewRow>();
  for (const [jobId, idxs] of [...byJob].sort(byJobId)) {
    const rows = await runOverList(ctx, trx, (length) => taskViewsQuery(length, ctx.caps.rowLocks), 'idx', idxs.sort((a, b) => a - b), { jobId });
    for (const row of rows) found.set(`${jobId}:${Number(row.idx)}`, row);
  }
  return found;
}

function taskViewsQuery(length: number, lock: boolean) {
  return prepared<Record<string, unknown>, TaskViewRow & { idx: number }>(`tasks.views:${length}:${lock}`, (db, p) => {
    const read = db
      .selectFrom('tasks')
      .innerJoin('jobs', 'jobs.id', 'tasks.job_id')
      .select(['tasks.idx', ...TASK_VIEW_COLUMNS])
      .where('tasks.job_id', '=', p('jobId') as string)
      .where('tasks.idx', 'in', listPlaceholders<number>(p, 'idx', length));
    return lock ? read.orderBy('tasks.idx').forUpdate('tasks') : read;
  });
}

/** Each volunteer's record after its results' changes, in batch order, written once. */
async function writeReputations(trx: Db, ctx: StoreContext, taken: readonly Taken[]): Promise<void> {
  const changed = new Map<string, { now: number; changes: Plan['reputation'] }>();
  for (const { plan, request } of taken) {
    for (const entry of plan.reputation) {
      const known = changed.get(entry.volunteerId);
      if (known) {
        known.now = request.now;
        known.changes.push(entry);
      } else changed.set(entry.volunteerId, { now: request.now, changes: [entry] });
    }
  }
  if (changed.size === 0) return;
  const records = await findVolunteers(trx, ctx, [...changed.keys()]);
  for (const [id, { now, changes }] of changed) {
    const record = records.get(id);
    const struckAt = record?.struckAt ?? 0;
    let rep: Reputation = record ?? newReputation(ctx.quota);
    for (const { change } of changes) rep = applyReputationChange(rep, struckAt, change, ctx.quota);
    await writeReputation(trx, ctx, id, now, rep, { struckAt, strike: false });
  }
}

/** A job's completion order after this batch took its places: up to `last`, of `taskCount` tasks. */
interface JobOrder {
  last: number;
  taskCount: number;
}

/**
 * The places in their jobs' completion order of the results that settle their task (one
 * statement per job), and each job's order after them.
 */
async function takeSettledPlaces(trx: Db, ctx: StoreContext, taken: readonly Taken[]): Promise<{ places: Map<Taken, number>; jobs: Map<string, JobOrder> }> {
  const byJob = groupedByJob(taken.filter((item) => item.plan.task?.settled).map((item) => ({ jobId: item.lease.job_id, item })));
  const places = new Map<Taken, number>();
  const jobs = new Map<string, JobOrder>();
  for (const [jobId, items] of [...byJob].sort(byJobId)) {
    const order = await settleInOrder(trx, ctx, jobId, items.length);
    jobs.set(jobId, order);
    items.forEach((item, n) => places.set(item, order.last - items.length + 1 + n));
  }
  return { places, jobs };
}

/**
 * Completes the jobs a plan says may be done (see `settleJob`): until the settled places reach a
 * job's tasks some task is still open, so the full check runs only for the last ones.
 */
async function settleFinishedJobs(trx: Db, ctx: StoreContext, taken: readonly Taken[], jobs: ReadonlyMap<string, JobOrder>): Promise<void> {
  const latest = new Map<string, number>();
  for (const { plan, lease, request } of taken) if (plan.settleJob) latest.set(lease.job_id, Math.max(latest.get(lease.job_id) ?? 0, request.now));
  for (const [jobId, now] of [...latest].sort(byJobId)) {
    const order = jobs.get(jobId);
    if (!order || order.last >= order.taskCount) await settleJob(trx, ctx.caps, jobId, now);
  }
}

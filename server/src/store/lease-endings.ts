/**
 * How a live lease ends inside a store transaction: read the task's view, ask the pure task
 * machine (`scheduler/task-machine.ts`) what the event means, apply its plan. Nothing here
 * decides; the functions below only read and write.
 */
import { sql } from 'kysely';
import type { FailureKind } from '../protocol/events.ts';
import { applyReputationChange, isStrikeChange } from '../scheduler/reputation-change.ts';
import { TRUST_AFTER } from '../scheduler/reputation.ts';
import { failureSources, type FailureSources } from '../scheduler/task-evidence.ts';
import {
  decide,
  jobSourcesQuestion,
  type LeaseFacts,
  type LeaseWrite,
  type Plan,
  type TaskEvent,
  type TaskState,
  type TaskView,
  type TaskWrite,
} from '../scheduler/task-machine.ts';
import type { Db, PreparedQuery, StoreContext } from './db.ts';
import { fromDbBytes, toDbBytes } from './bytes.ts';
import { settleInOrder, settleJob } from './job-settling.ts';
import { prepared } from './prepared.ts';
import type { Database } from './schema.ts';
import type { EndedLease, ReleaseCause } from './store.ts';
import { appendTaskErrors } from './task-history.ts';
import { lockVolunteers, updateReputation } from './volunteer-store.ts';

/** A lease row as stored. */
export type LeaseRow = Database['leases'];

/** What a transition did that the caller reports: replicas to revoke, and whether work reopened. */
export interface Transition {
  revoked: EndedLease[];
  reopened: boolean;
}

/**
 * Reads one lease by id. With concurrent writers (`rowLocks`), the row stays locked until the
 * transaction ends: two nodes ending the same lease take turns, and the second sees it ended.
 */
export async function findLease(trx: Db, ctx: StoreContext, leaseId: string): Promise<LeaseRow | undefined> {
  const { rows } = await ctx.run(trx, ctx.caps.rowLocks ? LEASE_LOCKED : LEASE, { id: leaseId });
  return rows[0];
}

const LEASE = prepared<{ id: string }, LeaseRow>('leases.find', (db, p) => db.selectFrom('leases').selectAll().where('id', '=', p('id')));
const LEASE_LOCKED = prepared<{ id: string }, LeaseRow>('leases.find-locked', (db, p) => db.selectFrom('leases').selectAll().where('id', '=', p('id')).forUpdate());

/** The events that end one lease (a cancel is the job's: see `cancelJob`). */
type LeaseEvent = Exclude<TaskEvent, { kind: 'cancel' }>;

/**
 * The task row and its job's settings, and the stored history the plan appends to. With
 * concurrent writers the task row (not the job's) is locked: its counters are read, changed and
 * written back.
 */
async function readTask(trx: Db, ctx: StoreContext, jobId: string, idx: number): Promise<{ view: Pick<TaskView, 'task' | 'job'>; errors: string | null }> {
  const { rows } = await ctx.run(trx, ctx.caps.rowLocks ? TASK_VIEW_LOCKED : TASK_VIEW, { jobId, idx });
  const row = rows[0];
  if (!row) throw new Error(`task ${jobId}:${idx} of a lease is missing`);
  return taskViewOf(row);
}

/** A task row joined with its job's settings, as the machine's view and the stored history. */
export function taskViewOf(row: TaskViewRow): { view: Pick<TaskView, 'task' | 'job'>; errors: string | null } {
  return {
    errors: row.errors,
    view: {
      task: {
        state: row.state as TaskState,
        attempts: Number(row.attempts),
        live: Number(row.live),
        results: Number(row.results),
        wanted: Number(row.wanted),
        needed: Number(row.needed),
        failures: Number(row.failures),
        releases: Number(row.releases),
      },
      job: { redundancy: Number(row.redundancy), quorum: Number(row.quorum), maxAttempts: Number(row.max_attempts) },
    },
  };
}

/** The columns of a task's view: its own and its job's settings. */
export const TASK_VIEW_COLUMNS = [
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
] as const;

function taskViewQuery(lock: boolean) {
  return prepared<{ jobId: string; idx: number }, TaskViewRow>(lock ? 'tasks.view-locked' : 'tasks.view', (db, p) => {
    const read = db
      .selectFrom('tasks')
      .innerJoin('jobs', 'jobs.id', 'tasks.job_id')
      .select(TASK_VIEW_COLUMNS)
      .where('tasks.job_id', '=', p('jobId'))
      .where('tasks.idx', '=', p('idx'));
    return lock ? read.forUpdate('tasks') : read;
  });
}

export type TaskViewRow = Pick<Database['tasks'], 'state' | 'attempts' | 'errors' | 'live' | 'results' | 'wanted' | 'needed' | 'failures' | 'releases'> &
  Pick<Database['jobs'], 'redundancy' | 'quorum' | 'max_attempts'>;
const TASK_VIEW = taskViewQuery(false);
const TASK_VIEW_LOCKED = taskViewQuery(true);

export const toFacts = (row: Omit<LeaseRow, 'output'>, hasOutput: boolean): LeaseFacts => ({
  id: row.id,
  volunteerId: row.volunteer_id,
  sessionId: row.session_id,
  jobId: row.job_id,
  state: row.state,
  issuedAt: Number(row.issued_at),
  deadline: Number(row.deadline),
  endedAt: row.ended_at === null ? null : Number(row.ended_at),
  outputHash: row.output_hash,
  errorKind: row.error_kind,
  address: row.address ?? null,
  hasOutput,
});

/** Earlier endings of a task read for its streak and its failures' sources: the newest ones. */
export const ENDINGS_READ = 64;

export const LEASE_COLUMNS = [
  'id',
  'job_id',
  'task_idx',
  'volunteer_id',
  'session_id',
  'site_key',
  'state',
  'issued_at',
  'deadline',
  'ended_at',
  'cpu_ms',
  'output_hash',
  'error_kind',
  'error_message',
  'verdict',
  'address',
] as const;

/**
 * The task's other leases, without their output bytes: the live and answered ones (bounded by
 * the task's replication), and with `endings` the newest `ENDINGS_READ` that ended otherwise: a
 * task failed or released over and over costs each new ending the same.
 */
async function readOtherLeases(trx: Db, lease: LeaseRow, endings: boolean): Promise<LeaseFacts[]> {
  const base = trx
    .selectFrom('leases')
    .select([...LEASE_COLUMNS, sql<number | boolean>`output is not null`.as('has_output')])
    .where('job_id', '=', lease.job_id)
    .where('task_idx', '=', lease.task_idx)
    .where('id', '!=', lease.id);
  const held = await base.where('state', 'in', ['active', 'completed']).execute();
  const ended = endings
    ? await base.where('state', 'not in', ['active', 'completed']).orderBy('ended_at', 'desc').orderBy('issued_at', 'desc').limit(ENDINGS_READ).execute()
    : [];
  return [...held, ...ended].map((row) => toFacts(row, Boolean(Number(row.has_output))));
}

/** Which of `ids` are trusted volunteers (their failures are evidence of their own). */
async function readTrusted(trx: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await trx.selectFrom('volunteers').select('id').where('id', 'in', [...ids]).where('consecutive_valid', '>=', TRUST_AFTER).execute();
  return new Set(rows.map((row) => row.id));
}

/** Whether some lease of the job came from a source other than `sources` (see `task-evidence.ts`). */
async function otherSourceInJob(trx: Db, jobId: string, sources: FailureSources): Promise<boolean> {
  let query = trx
    .selectFrom('leases')
    .leftJoin('volunteers', 'volunteers.id', 'leases.volunteer_id')
    .select('leases.id')
    .where('leases.job_id', '=', jobId);
  if (sources.leases.length > 0) query = query.where('leases.id', 'not in', sources.leases);
  if (sources.volunteers.length > 0) query = query.where('leases.volunteer_id', 'not in', sources.volunteers);
  if (sources.addresses.length > 0) {
    const addresses = sources.addresses;
    query = query.where((eb) =>
      eb.or([eb('leases.address', 'is', null), eb('leases.address', 'not in', addresses), eb('volunteers.consecutive_valid', '>=', TRUST_AFTER)]),
    );
  }
  return (await query.limit(1).executeTakeFirst()) !== undefined;
}

/**
 * Everything the machine needs about `lease`'s task for `event`. A lone replica's result needs
 * no other lease when it was the task's only live one (the hot path reads the task row only).
 */
async function readView(trx: Db, ctx: StoreContext, lease: LeaseRow, event: LeaseEvent): Promise<{ view: TaskView; errors: string | null }> {
  const { view: taskView, errors } = await readTask(trx, ctx, lease.job_id, Number(lease.task_idx));
  const lone = event.kind === 'result' && taskView.task.needed <= 1 && taskView.task.live <= 1;
  const counted = event.kind !== 'result';
  const others = lone ? [] : await readOtherLeases(trx, lease, counted);
  const failing = counted ? [lease.volunteer_id, ...others.filter((l) => l.state === 'failed' || l.state === 'expired').map((l) => l.volunteerId)] : [];
  const view: TaskView = { ...taskView, lease: toFacts(lease, lease.output !== null), others, trusted: await readTrusted(trx, [...new Set(failing)]) };
  const question = jobSourcesQuestion(view, event);
  if (question) view.otherSourceInJob = await otherSourceInJob(trx, lease.job_id, failureSources(question));
  return { view, errors };
}

/** Ends `lease` with `event` (`output`: a result's bytes): read, decide, apply. */
async function endLease(trx: Db, ctx: StoreContext, lease: LeaseRow, event: LeaseEvent, output?: Uint8Array): Promise<Transition> {
  const { view, errors } = await readView(trx, ctx, lease, event);
  const plan = decide(view, event);
  await applyPlan(trx, ctx, lease, plan, { now: event.now, errors, ...(output ? { output } : {}) });
  return { revoked: plan.revoke.map((l) => toEndedLease({ id: l.id, volunteer_id: l.volunteerId, session_id: l.sessionId, job_id: l.jobId })), reopened: plan.reopened };
}

/** Writes `plan` for `lease`'s task, a statement per kind of change. */
async function applyPlan(trx: Db, ctx: StoreContext, lease: LeaseRow, plan: Plan, at: { now: number; errors: string | null; output?: Uint8Array }): Promise<void> {
  const { now } = at;
  const task = { jobId: lease.job_id, idx: Number(lease.task_idx) };
  if (plan.lease) await writeLease(trx, ctx, lease.id, plan.lease, at.output);
  for (const verdict of ['valid', 'invalid'] as const) {
    const ids = plan.verdicts.filter((v) => v.verdict === verdict).map((v) => v.leaseId);
    if (ids.length > 0) await trx.updateTable('leases').set({ verdict }).where('id', 'in', ids).execute();
  }
  if (plan.revoke.length > 0) {
    await trx
      .updateTable('leases')
      .set({ state: 'revoked', ended_at: now })
      .where('id', 'in', plan.revoke.map((l) => l.id))
      .where('state', '=', 'active')
      .execute();
  }
  await lockVolunteers(
    trx,
    ctx,
    plan.reputation.map((r) => r.volunteerId),
  );
  for (const { volunteerId, change } of plan.reputation) {
    await updateReputation(trx, volunteerId, now, ctx, (rep, struckAt) => applyReputationChange(rep, struckAt, change, ctx.quota), { strike: isStrikeChange(change) });
  }
  if (!plan.task) return;
  const write = plan.task;
  // The accepted output, read before replica outputs are dropped.
  const output =
    write.output === 'event' ? at.output
    : write.output ? fromDbBytes((await trx.selectFrom('leases').select('output').where('id', '=', write.output.leaseId).executeTakeFirstOrThrow()).output as Uint8Array)
    : undefined;
  if (plan.dropReplicaOutputs) {
    await trx
      .updateTable('leases')
      .set({ output: null })
      .where('job_id', '=', task.jobId)
      .where('task_idx', '=', task.idx)
      .where('output', 'is not', null)
      .execute();
  }
  const settled = write.settled ? await settleInOrder(trx, ctx, task.jobId, 1) : undefined;
  await writeTask(trx, ctx, task, write, { now, errors: at.errors, ...(output ? { output } : {}), ...(settled ? { settledSeq: settled.last } : {}) });
  // Every task that settles takes a place in the order, so until the count reaches the job's
  // tasks some task is still open: the full check runs only for the last ones.
  if (plan.settleJob && (!settled || settled.last >= settled.taskCount)) await settleJob(trx, ctx.caps, task.jobId, now);
}

/** Writes a plan's change to the lease it ends (`output`: the event's bytes, kept when the plan says so). */
export async function writeLease(trx: Db, ctx: StoreContext, leaseId: string, write: LeaseWrite, output?: Uint8Array): Promise<void> {
  // Assigned one by one (not spread): this runs once per result, and the columns set name the statement.
  const values: Partial<LeaseRow> = { state: write.state, ended_at: write.endedAt };
  if (write.cpuMs !== undefined) values.cpu_ms = write.cpuMs;
  if (write.outputHash !== undefined) values.output_hash = write.outputHash;
  if (write.verdict !== undefined) values.verdict = write.verdict;
  if (write.keepOutput && output) values.output = toDbBytes(output);
  if (write.errorKind !== undefined) values.error_kind = write.errorKind;
  if (write.errorMessage !== undefined) values.error_message = write.errorMessage;
  await updateRow(trx, ctx, 'leases', { id: leaseId }, values);
}

/**
 * Writes a plan's change to a task row: `errors` is its stored history (the plan's entries are
 * appended), `output` the accepted bytes, `settledSeq` its place in the job's completion order.
 */
export async function writeTask(
  trx: Db,
  ctx: StoreContext,
  task: { jobId: string; idx: number },
  write: TaskWrite,
  at: { now: number; errors: string | null; output?: Uint8Array; settledSeq?: number },
): Promise<void> {
  // A task open again may sit before the fresh tasks read ahead for claims.
  if (write.state === 'pending') ctx.freshTasks?.forget(task.jobId);
  const values: Partial<Database['tasks']> = { state: write.state, live: write.live, updated_at: at.now };
  if (write.results !== undefined) values.results = write.results;
  if (write.wanted !== undefined) values.wanted = write.wanted;
  if (write.needed !== undefined) values.needed = write.needed;
  if (write.attempts !== undefined) values.attempts = write.attempts;
  if (write.failures !== undefined) values.failures = write.failures;
  if (write.releases !== undefined) values.releases = write.releases;
  if (write.history.length > 0) values.errors = appendTaskErrors(at.errors, write.history);
  if (at.output) values.output = toDbBytes(at.output);
  if (at.settledSeq !== undefined) values.settled_seq = at.settledSeq;
  await updateRow(trx, ctx, 'tasks', { job_id: task.jobId, idx: task.idx }, values);
}

/**
 * Sets `values` on the row of `table` that `key` names, as a prepared statement per set of
 * columns (a plan changes a few of a row's columns, and the same few again and again). `values` is
 * the caller's own, made for this call: the key's values are added to it.
 */
async function updateRow<T extends 'leases' | 'tasks'>(
  trx: Db,
  ctx: StoreContext,
  table: T,
  key: Partial<Database[T]>,
  values: Partial<Database[T]>,
): Promise<void> {
  const columns = Object.keys(values);
  const keys = Object.keys(key);
  const name = `${table}.update:${columns.join(',')}:${keys.join(',')}`;
  let statement = updateStatements.get(name);
  if (!statement) {
    statement = prepared<Record<string, unknown>, never>(name, (db, p) =>
      keys.reduce(
        (update, column) => update.where(sql.ref(column), '=', p(`key.${column}`)),
        db.updateTable(table as 'leases').set(Object.fromEntries(columns.map((column) => [column, p(column)]))),
      ),
    );
    updateStatements.set(name, statement);
  }
  const given: Record<string, unknown> = values;
  for (const column of keys) given[`key.${column}`] = key[column as keyof typeof key];
  await ctx.run(trx, statement, given);
}

/** The statements of `updateRow`, by the columns they set and match (a handful of shapes). */
const updateStatements = new Map<string, PreparedQuery<Record<string, unknown>, never>>();

/**
 * Records a replica's result: accepted alone, kept for a quorum, or judged with the task's other
 * replicas (see `scheduler/task-machine.ts`).
 */
export async function recordResult(
  trx: Db,
  ctx: StoreContext,
  lease: LeaseRow,
  result: { output: Uint8Array; outputHash: string; cpuMs: number; now: number },
): Promise<Transition> {
  return endLease(trx, ctx, lease, { kind: 'result', outputHash: result.outputHash, cpuMs: result.cpuMs, now: result.now }, result.output);
}

/**
 * Ends a live lease as a counted attempt: a failure the volunteer reported (`failed`, with its
 * kind and message) or an expiry (`expired`: the machine words the message from the deadline).
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
  return endLease(trx, ctx, lease, leaseState === 'expired' ? { kind: 'expiry', now } : { kind: 'failure', failure: kind, message, now });
}

/** Takes a lease back unanswered (a release, or a crash when it continues a streak). */
export async function releaseLease(trx: Db, ctx: StoreContext, lease: LeaseRow, now: number, cause: ReleaseCause = 'vanished'): Promise<Transition> {
  return endLease(trx, ctx, lease, { kind: 'release', cause, now });
}

/** The part of a lease row a caller needs to tell its volunteer. */
export function toEndedLease(row: { id: string; volunteer_id: string; session_id: string; job_id: string }): EndedLease {
  return { leaseId: row.id, volunteerId: row.volunteer_id, sessionId: row.session_id, jobId: row.job_id };
}

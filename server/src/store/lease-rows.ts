/**
 * Inserting lease rows: a claim's new leases, grants kept unwritten (`granted-leases.ts`) written
 * as live leases before anything else reads leases, and such a grant written once, ended, by its
 * lone result. And, at a store's start, the repair of what a killed process left unwritten.
 */
import type { Kysely } from 'kysely';
import type { LeaseWrite } from '../scheduler/task-machine.ts';
import { toDbBytes } from './bytes.ts';
import type { Db, StoreContext } from './db.ts';
import type { GrantedLease } from './granted-leases.ts';
import { LIVE } from './lease-states.ts';
import { prepared } from './prepared.ts';
import type { Database } from './schema.ts';

/** The columns a new lease is written with (the rest start null). */
export const NEW_LEASE_COLUMNS = ['id', 'job_id', 'task_idx', 'volunteer_id', 'session_id', 'site_key', 'state', 'issued_at', 'deadline', 'address'] as const;

/** A new lease's row as inserted. */
export type NewLeaseRow = Pick<Database['leases'], (typeof NEW_LEASE_COLUMNS)[number]>;

/** Every column of an ended lease's row. */
const ENDED_LEASE_COLUMNS = [...NEW_LEASE_COLUMNS, 'ended_at', 'cpu_ms', 'output_hash', 'error_kind', 'error_message', 'verdict', 'output'] as const;

type LeaseColumn = keyof Database['leases'];

/** Most rows one insert statement takes. */
const MAX_ROWS = 64;

/**
 * Inserts `count` rows of `columns` (one compiled form per column set and count). Its values go by
 * position: the stand-in of row r, column c is named by its place in the flat list of values
 * (r × columns + c), so a plain array is the statement's values.
 */
function insertStatement(columns: readonly LeaseColumn[], count: number) {
  return prepared<Record<string, unknown>, never>(`leases.insert:${columns.join(',')}:${count}`, (db, p) =>
    db
      .insertInto('leases')
      .values(Array.from({ length: count }, (_, r) => Object.fromEntries(columns.map((column, c) => [column, p(String(r * columns.length + c))])) as never)),
  );
}

/**
 * Inserts `rows` (each its values in the order of `columns`) in chunks whose sizes are powers of
 * two, so that each column set has a handful of compiled forms (and prepared statements), not one
 * per count: 85 rows go as 64 + 16 + 4 + 1.
 */
async function insertRows(trx: Db, ctx: StoreContext, columns: readonly LeaseColumn[], rows: readonly (readonly unknown[])[]): Promise<void> {
  const most = Math.min(MAX_ROWS, Math.max(1, Math.floor(ctx.caps.maxParameters / columns.length)));
  for (let start = 0; start < rows.length; ) {
    let count = 1;
    while (count * 2 <= rows.length - start && count * 2 <= most) count *= 2;
    const values: unknown[] = [];
    for (let r = start; r < start + count; r++) values.push(...rows[r]!);
    await ctx.run(trx, insertStatement(columns, count), values as unknown as Record<string, unknown>);
    start += count;
  }
}

/** Inserts new live leases. */
export function insertNewLeases(trx: Db, ctx: StoreContext, rows: readonly NewLeaseRow[]): Promise<void> {
  return insertRows(
    trx,
    ctx,
    NEW_LEASE_COLUMNS,
    rows.map((row) => NEW_LEASE_COLUMNS.map((column) => row[column])),
  );
}

/** Writes every unwritten grant as the live lease it is (before something else reads leases). */
export async function writeUnwritten(trx: Db, ctx: StoreContext): Promise<void> {
  const unwritten = ctx.granted?.takeAll() ?? [];
  if (unwritten.length > 0) await insertNewLeases(trx, ctx, unwritten.map((granted) => granted.lease));
}

/** A lease never written, as its plan ends it (`output`: the event's bytes, kept when the plan says so). */
export interface EndedUnwritten {
  lease: GrantedLease;
  write: LeaseWrite;
  output?: Uint8Array;
}

/** Inserts leases that end before their row was written, each whole and ended. */
export function insertEndedLeases(trx: Db, ctx: StoreContext, ended: readonly EndedUnwritten[]): Promise<void> {
  // In the order of ENDED_LEASE_COLUMNS.
  const rows = ended.map(({ lease, write, output }) => [
    lease.id,
    lease.job_id,
    lease.task_idx,
    lease.volunteer_id,
    lease.session_id,
    lease.site_key,
    write.state,
    lease.issued_at,
    lease.deadline,
    lease.address,
    write.endedAt,
    write.cpuMs ?? null,
    write.outputHash ?? null,
    write.errorKind ?? null,
    write.errorMessage ?? null,
    write.verdict ?? null,
    write.keepOutput && output ? toDbBytes(output) : null,
  ]);
  return insertRows(trx, ctx, ENDED_LEASE_COLUMNS, rows);
}

/**
 * At a store's start (one writer: nothing else runs yet): tasks counted live with no live lease
 * row are the tasks of grants a killed process kept unwritten. Each goes back to pending, its
 * attempts not counted, as if its volunteer had never been given it (it cannot answer: its lease
 * is unknown, so its result is stale). Returns how many tasks went back.
 */
export async function releaseLostGrants(db: Kysely<Database>): Promise<number> {
  const jobs = await db.selectFrom('jobs').select('id').where('state', '=', 'active').execute();
  let released = 0;
  for (const { id } of jobs) {
    const result = await db
      .updateTable('tasks')
      .set((eb) => ({ state: 'pending', live: 0, attempts: eb.fn<number>('max', [eb.lit(0), eb('attempts', '-', eb.ref('live'))]) }))
      .where('job_id', '=', id)
      .where('state', '=', 'running')
      .where('live', '>', 0)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('leases')
              .select('leases.id')
              .whereRef('leases.job_id', '=', 'tasks.job_id')
              .whereRef('leases.task_idx', '=', 'tasks.idx')
              .where('leases.state', '=', LIVE),
          ),
        ),
      )
      .executeTakeFirst();
    released += Number(result.numUpdatedRows);
  }
  return released;
}

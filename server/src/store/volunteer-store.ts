/**
 * Volunteers in the store: read one record, or inside a transaction read one (or a new volunteer's
 * defaults), apply a pure update from `scheduler/reputation.ts`, and write it back.
 */
import type { Kysely } from 'kysely';
import { newReputation, type Reputation } from '../scheduler/reputation.ts';
import type { Db, StoreContext } from './db.ts';
import { listPlaceholders, prepared, runOverList } from './prepared.ts';
import type { Database } from './schema.ts';
import type { Store, VolunteerRecord } from './store.ts';

/**
 * Reads a volunteer's record; `undefined` when there is none yet. With `lock` (concurrent writers),
 * the row stays locked until the transaction ends, so no other node updates it in between.
 */
export async function findVolunteer(trx: Db, ctx: StoreContext, id: string, lock = false): Promise<VolunteerRecord | undefined> {
  const row = (await ctx.run(trx, lock ? VOLUNTEER_LOCKED : VOLUNTEER, { id })).rows[0];
  return row && volunteerRecordOf(row);
}

/** A volunteer row as its record. */
function volunteerRecordOf(row: VolunteerRow): VolunteerRecord {
  return {
    id: row.id,
    consecutiveValid: Number(row.consecutive_valid),
    valid: Number(row.valid),
    invalid: Number(row.invalid),
    unchecked: Number(row.unchecked),
    errors: Number(row.errors),
    quota: Number(row.quota),
    strikes: Number(row.strikes),
    struckAt: Number(row.struck_at),
    firstSeen: Number(row.first_seen),
    lastSeen: Number(row.last_seen),
  };
}

/**
 * The records of `ids` (each at most once) that exist, by id; with concurrent writers locked,
 * in id order, so two nodes locking overlapping sets never wait on each other in a circle.
 */
export async function findVolunteers(trx: Db, ctx: StoreContext, ids: readonly string[]): Promise<Map<string, VolunteerRecord>> {
  const rows = await runOverList(ctx, trx, (length) => volunteersQuery(length, ctx.caps.rowLocks), 'id', [...ids].sort());
  return new Map(rows.map((row) => [row.id, volunteerRecordOf(row)]));
}

function volunteersQuery(length: number, lock: boolean) {
  return prepared<Record<string, unknown>, VolunteerRow>(`volunteers.find-many:${length}:${lock}`, (db, p) => {
    const read = db.selectFrom('volunteers').selectAll().where('id', 'in', listPlaceholders<string>(p, 'id', length));
    return lock ? read.orderBy('id').forUpdate() : read;
  });
}

type VolunteerRow = Database['volunteers'];
const VOLUNTEER = prepared<{ id: string }, VolunteerRow>('volunteers.find', (db, p) => db.selectFrom('volunteers').selectAll().where('id', '=', p('id')));
const VOLUNTEER_LOCKED = prepared<{ id: string }, VolunteerRow>('volunteers.find-locked', (db, p) =>
  db.selectFrom('volunteers').selectAll().where('id', '=', p('id')).forUpdate(),
);

/** Records a volunteer seen for the first time (a concurrent first claim may have done it already). */
export async function insertVolunteer(trx: Db, ctx: StoreContext, id: string, now: number, rep: Reputation): Promise<void> {
  await ctx.run(trx, INSERT_VOLUNTEER, { id, now, ...reputationColumns(rep) });
}

/** A reputation as the volunteer row's columns. */
const reputationColumns = (rep: Reputation) => ({
  consecutive_valid: rep.consecutiveValid,
  valid: rep.valid,
  invalid: rep.invalid,
  unchecked: rep.unchecked,
  errors: rep.errors,
  quota: rep.quota,
  strikes: rep.strikes,
});
type ReputationColumns = ReturnType<typeof reputationColumns>;
const REPUTATION_COLUMNS = ['consecutive_valid', 'valid', 'invalid', 'unchecked', 'errors', 'quota', 'strikes'] as const satisfies readonly (keyof ReputationColumns)[];

const INSERT_VOLUNTEER = prepared<{ id: string; now: number } & ReputationColumns, never>('volunteers.insert', (db, p) =>
  db
    .insertInto('volunteers')
    .values({
      id: p('id'),
      ...Object.fromEntries(REPUTATION_COLUMNS.map((column) => [column, p(column)])) as ReputationColumns,
      struck_at: 0,
      first_seen: p('now'),
      last_seen: p('now'),
    })
    .onConflict((oc) => oc.column('id').doNothing()),
);

/**
 * Writes a volunteer's reputation, marked seen at `now`, making the row if new (with `struck_at`
 * = `struckAt`). The `struck` form also dates an existing row's latest strike: the cool-down
 * counts from there.
 */
function upsertReputation(struck: boolean) {
  return prepared<{ id: string; now: number; struckAt: number } & ReputationColumns, never>(struck ? 'volunteers.upsert-struck' : 'volunteers.upsert', (db, p) => {
    const values = { ...(Object.fromEntries(REPUTATION_COLUMNS.map((column) => [column, p(column)])) as ReputationColumns), last_seen: p('now') };
    return db
      .insertInto('volunteers')
      .values({ id: p('id'), first_seen: p('now'), struck_at: p('struckAt'), ...values })
      .onConflict((oc) => oc.column('id').doUpdateSet(struck ? { ...values, struck_at: p('struckAt') } : values));
  });
}
const UPSERT = upsertReputation(false);
const UPSERT_STRUCK = upsertReputation(true);

/**
 * Applies `update` (given the record and when its latest strike was, 0 for none) to the
 * volunteer's record, creating it, and marks it seen at `now`. With `strike`, the update is a
 * strike and dated `now`: the cool-down counts from there.
 */
export async function updateReputation(
  trx: Db,
  id: string,
  now: number,
  ctx: StoreContext,
  update: (rep: Reputation, struckAt: number) => Reputation,
  options: { strike?: boolean } = {},
): Promise<Reputation> {
  const found = await lockedVolunteer(trx, ctx, id, now);
  const next = update(found ?? newReputation(ctx.quota), found?.struckAt ?? 0);
  const struck = options.strike === true;
  await writeReputation(trx, ctx, id, now, next, struck ? { struckAt: now, strike: true } : { struckAt: found?.struckAt ?? 0, strike: false });
  return next;
}

/**
 * Writes a volunteer's reputation, marked seen at `now`, making the row if new. `strike` dates
 * the latest strike `struckAt` (the cool-down counts from there); else a new row starts with it.
 */
export async function writeReputation(trx: Db, ctx: StoreContext, id: string, now: number, rep: Reputation, at: { struckAt: number; strike: boolean }): Promise<void> {
  await ctx.run(trx, at.strike ? UPSERT_STRUCK : UPSERT, { id, now, struckAt: at.struckAt, ...reputationColumns(rep) });
}

/**
 * The volunteer's record for a read-modify-write. With concurrent writers (`rowLocks`) the row is
 * locked, and a new volunteer's row is made first (two nodes meeting it at once insert one row,
 * the second waits for the first), so no node's update overwrites another's.
 */
export async function lockedVolunteer(trx: Db, ctx: StoreContext, id: string, now: number): Promise<VolunteerRecord | undefined> {
  if (!ctx.caps.rowLocks) return findVolunteer(trx, ctx, id);
  const found = await findVolunteer(trx, ctx, id, true);
  if (found) return found;
  await insertVolunteer(trx, ctx, id, now, newReputation(ctx.quota));
  return findVolunteer(trx, ctx, id, true);
}

/**
 * Locks the records of several volunteers in one order (by id) before they are updated one by
 * one: two nodes judging tasks answered by the same volunteers in different orders would
 * otherwise each hold one record and wait for the other's (a deadlock). No-op on a single writer.
 */
export async function lockVolunteers(trx: Db, ctx: StoreContext, ids: readonly string[]): Promise<void> {
  if (!ctx.caps.rowLocks || ids.length < 2) return;
  await trx.selectFrom('volunteers').select('id').where('id', 'in', [...ids]).orderBy('id').forUpdate().execute();
}

/** The volunteer verbs of `Store`. */
export function volunteerStore(db: Kysely<Database>, ctx: StoreContext): Pick<Store, 'getVolunteer'> {
  return {
    getVolunteer: (id) => findVolunteer(db, ctx, id),
  };
}

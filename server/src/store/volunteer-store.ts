/**
 * Volunteers in the store: read one record, or inside a transaction read one (or a new volunteer's
 * defaults), apply a pure update from `scheduler/reputation.ts`, and write it back.
 */
import type { Kysely } from 'kysely';
import { newReputation, type QuotaLimits, type Reputation } from '../scheduler/reputation.ts';
import type { Db } from './db.ts';
import type { Database } from './schema.ts';
import type { Store, VolunteerRecord } from './store.ts';

/** Reads a volunteer's record; `undefined` when there is none yet. */
export async function findVolunteer(trx: Db, id: string): Promise<VolunteerRecord | undefined> {
  const row = await trx.selectFrom('volunteers').selectAll().where('id', '=', id).executeTakeFirst();
  return (
    row && {
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
    }
  );
}

/** Records a volunteer seen for the first time (a concurrent first claim may have done it already). */
export async function insertVolunteer(trx: Db, id: string, now: number, rep: Reputation): Promise<void> {
  await trx
    .insertInto('volunteers')
    .values({
      id,
      consecutive_valid: rep.consecutiveValid,
      valid: rep.valid,
      invalid: rep.invalid,
      unchecked: rep.unchecked,
      errors: rep.errors,
      quota: rep.quota,
      strikes: rep.strikes,
      struck_at: 0,
      first_seen: now,
      last_seen: now,
    })
    .onConflict((oc) => oc.column('id').doNothing())
    .execute();
}

/**
 * Applies `update` (given the record and when its latest strike was, 0 for none) to the
 * volunteer's record, creating it, and marks it seen at `now`. With `strike`, the update is a
 * strike and dated `now`: the cool-down counts from there.
 */
export async function updateReputation(
  trx: Db,
  id: string,
  now: number,
  limits: QuotaLimits,
  update: (rep: Reputation, struckAt: number) => Reputation,
  options: { strike?: boolean } = {},
): Promise<Reputation> {
  const found = await findVolunteer(trx, id);
  const next = update(found ?? newReputation(limits), found?.struckAt ?? 0);
  const values = {
    consecutive_valid: next.consecutiveValid,
    valid: next.valid,
    invalid: next.invalid,
    unchecked: next.unchecked,
    errors: next.errors,
    quota: next.quota,
    strikes: next.strikes,
    last_seen: now,
  };
  const struck = options.strike === true;
  await trx
    .insertInto('volunteers')
    .values({ id, first_seen: now, struck_at: struck ? now : (found?.struckAt ?? 0), ...values })
    .onConflict((oc) => oc.column('id').doUpdateSet(struck ? { ...values, struck_at: now } : values))
    .execute();
  return next;
}

/** The volunteer verbs of `Store`. */
export function volunteerStore(db: Kysely<Database>): Pick<Store, 'getVolunteer'> {
  return {
    getVolunteer: (id) => findVolunteer(db, id),
  };
}

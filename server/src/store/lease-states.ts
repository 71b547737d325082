/**
 * Lease states written into SQL as literals, for the lookups that go through the partial indexes
 * of migration 000013 (live leases by session, deadline, volunteer and job; answers awaiting a
 * verdict). SQLite's planner (and PostgreSQL's, for a generic plan) uses a partial index only when
 * the query's own WHERE clause implies the index's, and `state = ?` with a bound value cannot
 * show that it does: such a lookup would read every lease of the volunteer, session or job, or
 * the whole table.
 */
import { sql } from 'kysely';

/** `state = LIVE`: the lease is held. */
export const LIVE = sql.lit('active');

/** `state = ANSWERED`: the lease ended with a result. */
export const ANSWERED = sql.lit('completed');

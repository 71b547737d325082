/**
 * 000013: lease indexes whose entries do not move when a lease ends.
 *
 * Every index on `leases` named its state, so every lease's end (active → completed, failed,
 * released, …) moved its entry in four indexes that held every lease ever made, and those scattered
 * index pages were most of what a batch of results wrote. Now:
 * - live leases are found by session, deadline, volunteer and job through partial indexes on
 *   `state = 'active'`, which hold only live leases: an ending only deletes from them, and they
 *   stay a few pages;
 * - a task's leases are found by (job, task) without the state (a task has a handful);
 * - a volunteer's answers still waiting for a quorum's verdict have their own partial index.
 *
 * Queries name the states as literals (`LIVE` in `lease-store.ts`, `claims.ts`, `job-store.ts`):
 * a planner uses a partial index only when the query's own WHERE clause implies the index's, which
 * a bound parameter cannot show.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function liveLeaseIndexesMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      for (const name of ['leases_state_deadline', 'leases_session_state', 'leases_volunteer', 'leases_job_task']) await db.schema.dropIndex(name).ifExists().execute();
      const live = sql<boolean>`state = 'active'`;
      await db.schema.createIndex('leases_live_deadline').on('leases').column('deadline').where(live).execute();
      await db.schema.createIndex('leases_live_session').on('leases').column('session_id').where(live).execute();
      await db.schema.createIndex('leases_live_volunteer').on('leases').column('volunteer_id').where(live).execute();
      await db.schema.createIndex('leases_live_job').on('leases').column('job_id').where(live).execute();
      await db.schema.createIndex('leases_task').on('leases').columns(['job_id', 'task_idx']).execute();
      await db.schema
        .createIndex('leases_awaiting_verdict')
        .on('leases')
        .columns(['volunteer_id', 'ended_at'])
        .where(sql<boolean>`state = 'completed' and verdict is null`)
        .execute();
    },
  };
}

/**
 * 000013: lease indexes whose entries do not move when a lease ends.
 *
 * Every index on `leases` named its state, so every lease's end (active → completed, failed,
 * released, …) moved its entry in four indexes that held every lease ever made, and those scattered
 * index pages were most of what a batch of results wrote on SQLite. Now:
 * - live leases are found by session, deadline, volunteer and job through partial indexes on
 *   `state = 'active'`, which hold only live leases: on SQLite an ending only deletes from them,
 *   and they stay a few pages;
 * - a task's leases are found by (job, task) without the state: a task has a handful (its
 *   replicas, and releases and failures, which `maxAttempts` bounds), read with their rows;
 * - a volunteer's answers still waiting for a quorum's verdict have their own partial index.
 *
 * Queries name the states as literals (`lease-states.ts`): SQLite's planner uses a partial index
 * only when the query's own WHERE clause implies the index's, which a bound value cannot show.
 *
 * Every step may run again (`ifExists`, `ifNotExists`): on SQLite Kysely runs migrations without
 * a transaction around DDL, and a process killed half way must be able to finish it at its next
 * start. On PostgreSQL the migration is one transaction, which holds `leases` locked while the
 * indexes are built: upgrade a cluster with its nodes stopped (docs/cluster.md, "Upgrading"). There, an
 * indexed `verdict` also makes a verdict's update a new row version rather than a HOT update.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function liveLeaseIndexesMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      for (const name of ['leases_state_deadline', 'leases_session_state', 'leases_volunteer', 'leases_job_task']) await db.schema.dropIndex(name).ifExists().execute();
      const live = sql<boolean>`state = 'active'`;
      await db.schema.createIndex('leases_live_deadline').ifNotExists().on('leases').column('deadline').where(live).execute();
      await db.schema.createIndex('leases_live_session').ifNotExists().on('leases').column('session_id').where(live).execute();
      await db.schema.createIndex('leases_live_volunteer').ifNotExists().on('leases').column('volunteer_id').where(live).execute();
      // With the state in its key too: both it and `leases_task` lead with the job, and without
      // statistics SQLite's planner took `leases_task`, reading every lease the job ever had.
      await db.schema.createIndex('leases_live_job').ifNotExists().on('leases').columns(['job_id', 'state']).where(live).execute();
      await db.schema.createIndex('leases_task').ifNotExists().on('leases').columns(['job_id', 'task_idx']).execute();
      await db.schema
        .createIndex('leases_awaiting_verdict')
        .ifNotExists()
        .on('leases')
        .columns(['volunteer_id', 'ended_at'])
        .where(sql<boolean>`state = 'completed' and verdict is null`)
        .execute();
    },
  };
}

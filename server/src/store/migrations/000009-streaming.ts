/**
 * 000009: streaming jobs.
 * - `jobs.open`: 1 while the job takes more inputs (`POST /jobs/:id/inputs`); an open job is never
 *   completed.
 * - `jobs.task_count`: the tasks that exist for everyone (claims, counts, results). A streamed
 *   request inserts its inputs in batches past it and moves it only when the request succeeds, so
 *   a failed request's tasks never existed (they are deleted).
 * - `jobs.settled_count` and `tasks.settled_seq`: the order in which tasks settled (completed or
 *   failed), for results in completion order.
 * Existing jobs: every task exists; settled tasks get sequence numbers in input order.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export function streamingMigration(): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('jobs').addColumn('open', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('jobs').addColumn('task_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('jobs').addColumn('settled_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('tasks').addColumn('settled_seq', 'integer').execute();
      await sql`UPDATE tasks SET settled_seq = idx + 1 WHERE state IN ('completed', 'failed')`.execute(db);
      await sql`UPDATE jobs SET
        task_count = (SELECT count(*) FROM tasks WHERE tasks.job_id = jobs.id),
        settled_count = COALESCE((SELECT max(settled_seq) FROM tasks WHERE tasks.job_id = jobs.id), 0)`.execute(db);
      // Results in completion order read a job's settled tasks by sequence.
      await db.schema.createIndex('tasks_job_settled').on('tasks').columns(['job_id', 'settled_seq']).execute();
      // The job list, newest first.
      await db.schema.createIndex('jobs_created').on('jobs').columns(['created_at', 'id']).execute();
    },
  };
}

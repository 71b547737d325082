/**
 * 000001: modules, sites, jobs, tasks and leases. Forward-only: never edit a shipped migration,
 * add the next number instead.
 */
import type { Kysely, Migration } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';

/** Builds the migration for one dialect (binary column types differ). */
export function initialMigration(caps: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('modules')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('abi', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('bytes', caps.binaryType, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('sites')
        .addColumn('site_key', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('origins', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('module_hash', 'text', (c) => c.notNull().references('modules.hash'))
        .addColumn('title', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('redundancy', 'integer', (c) => c.notNull())
        .addColumn('quorum', 'integer', (c) => c.notNull())
        .addColumn('deadline_ms', 'integer', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('priority', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      // Claims list the active jobs in priority order.
      await db.schema.createIndex('jobs_state_priority').on('jobs').columns(['state', 'priority', 'created_at']).execute();

      await db.schema
        .createTable('tasks')
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('input', caps.binaryType, (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('output', caps.binaryType)
        .addColumn('errors', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tasks_pk', ['job_id', 'idx'])
        .execute();
      // Serves both the claim (first pending tasks of a job in input order) and the
      // per-state counts of a job (GROUP BY state reads only this index).
      await db.schema.createIndex('tasks_job_state_idx').on('tasks').columns(['job_id', 'state', 'idx']).execute();

      await db.schema
        .createTable('leases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('task_idx', 'integer', (c) => c.notNull())
        .addColumn('volunteer_id', 'text', (c) => c.notNull())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('site_key', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('deadline', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('cpu_ms', 'integer')
        .addColumn('output_hash', 'text')
        .addColumn('error_kind', 'text')
        .addColumn('error_message', 'text')
        .addForeignKeyConstraint('leases_task_fk', ['job_id', 'task_idx'], 'tasks', ['job_id', 'idx'])
        .execute();
      await db.schema.createIndex('leases_state_deadline').on('leases').columns(['state', 'deadline']).execute();
      await db.schema.createIndex('leases_session_state').on('leases').columns(['session_id', 'state']).execute();
      await db.schema.createIndex('leases_job_task').on('leases').columns(['job_id', 'task_idx', 'state']).execute();
      // Accounting reads per volunteer and per site.
      await db.schema.createIndex('leases_volunteer').on('leases').columns(['volunteer_id', 'state']).execute();
      await db.schema.createIndex('leases_site').on('leases').columns(['site_key', 'state']).execute();
    },
  };
}

/**
 * 000002: replicas, quorum and reputation.
 * - tasks: `live` leases and `results` collected (counters kept in the same transactions as the
 *   leases), `wanted` replicas and `needed` agreeing results (the job's redundancy and quorum, or
 *   1/1 for a trusted volunteer's single replica), counted `failures`, uncounted `releases`.
 * - leases: a replica's `output` while it waits for a quorum, and its `verdict` once judged.
 * - volunteers: one record per volunteer id (see `scheduler/reputation.ts`).
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { DialectCapabilities } from '../capabilities.ts';

export function replicasMigration(caps: DialectCapabilities): Migration {
  return {
    async up(db: Kysely<any>): Promise<void> {
      const counters = ['live', 'results', 'failures', 'releases'] as const;
      for (const column of counters) {
        await db.schema.alterTable('tasks').addColumn(column, 'integer', (c) => c.notNull().defaultTo(0)).execute();
      }
      for (const column of ['wanted', 'needed'] as const) {
        await db.schema.alterTable('tasks').addColumn(column, 'integer', (c) => c.notNull().defaultTo(1)).execute();
      }
      // Tasks written before this migration: counters from their leases, targets from their job.
      await sql`update tasks set
        live = (select count(*) from leases l where l.job_id = tasks.job_id and l.task_idx = tasks.idx and l.state = 'active'),
        results = (select count(*) from leases l where l.job_id = tasks.job_id and l.task_idx = tasks.idx and l.state = 'completed'),
        failures = (select count(*) from leases l where l.job_id = tasks.job_id and l.task_idx = tasks.idx and l.state in ('failed', 'expired')),
        wanted = (select j.redundancy from jobs j where j.id = tasks.job_id),
        needed = (select j.quorum from jobs j where j.id = tasks.job_id)`.execute(db);

      await db.schema.alterTable('leases').addColumn('output', caps.binaryType).execute();
      await db.schema.alterTable('leases').addColumn('verdict', 'text').execute();

      await db.schema
        .createTable('volunteers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('consecutive_valid', 'integer', (c) => c.notNull())
        .addColumn('valid', 'integer', (c) => c.notNull())
        .addColumn('invalid', 'integer', (c) => c.notNull())
        .addColumn('unchecked', 'integer', (c) => c.notNull())
        .addColumn('errors', 'integer', (c) => c.notNull())
        .addColumn('quota', 'integer', (c) => c.notNull())
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .execute();
    },
  };
}

/**
 * How a job settles: each task that settles takes the next place in the job's completion order
 * (results `?order=completion`), and an active, closed job is completed once none of its tasks
 * is open. Shared by the one-by-one endings (lease-endings.ts), the lone results of a batch
 * (lone-results.ts) and the closing of a job's inputs (job-inputs.ts).
 */
import type { DialectCapabilities } from './capabilities.ts';
import type { Db, StoreContext } from './db.ts';
import { prepared } from './prepared.ts';
import type { Database } from './schema.ts';

/** The task states that still need a volunteer. */
export const OPEN_TASK_STATES = ['pending', 'running'] as const;

/**
 * Takes the next `count` places in the job's completion order (results `?order=completion`):
 * they run up to `last`. Also the job's task count: the job may be done once `last` reaches it.
 */
export async function settleInOrder(trx: Db, ctx: StoreContext, jobId: string, count: number): Promise<{ last: number; taskCount: number }> {
  const { rows } = await ctx.run(trx, NEXT_SETTLED, { jobId, count });
  const row = rows[0];
  if (!row) throw new Error(`job ${jobId} of a settling task is missing`);
  return { last: Number(row.settled_count), taskCount: Number(row.task_count) };
}

const NEXT_SETTLED = prepared<{ jobId: string; count: number }, Pick<Database['jobs'], 'settled_count' | 'task_count'>>('jobs.next-settled', (db, p) =>
  db
    .updateTable('jobs')
    .set((eb) => ({ settled_count: eb('settled_count', '+', p('count')) }))
    .where('id', '=', p('jobId'))
    .returning(['settled_count', 'task_count']),
);

/**
 * Marks an active, closed job completed once none of its tasks is pending or running (an open job
 * may still get inputs, so it is never completed). With concurrent
 * writers, two transactions finishing a job's last two tasks would each still see the other's
 * task open; locking the job row first makes the second one see the first one's commit.
 */
export async function settleJob(trx: Db, caps: DialectCapabilities, jobId: string, now: number): Promise<void> {
  if (caps.rowLocks) await trx.selectFrom('jobs').select('id').where('id', '=', jobId).forUpdate().execute();
  const open = await trx
    .selectFrom('tasks')
    .select('idx')
    .where('job_id', '=', jobId)
    .where('state', 'in', OPEN_TASK_STATES)
    .limit(1)
    .executeTakeFirst();
  if (open) return;
  await trx
    .updateTable('jobs')
    .set({ state: 'completed', finished_at: now })
    .where('id', '=', jobId)
    .where('state', '=', 'active')
    .where('open', '=', 0)
    .execute();
}

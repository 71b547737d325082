/**
 * The one implementation of `Store`, written against Kysely. Dialect differences come in through
 * `DialectCapabilities`; every verb that changes more than one row runs in one transaction.
 *
 * Task states: pending ──claim──▶ running ──result──▶ completed
 *                                  running ──fail/expire──▶ pending | failed (attempts >= max)
 *                                  running ──release──▶ pending (attempt not counted)
 *                                  pending | running ──cancel──▶ cancelled
 * Job states:  active ──last task terminal──▶ completed;  active ──cancel──▶ cancelled.
 * (Lease states: see the lifecycle in `store.ts`.)
 *
 * Every job behaves as redundancy 1 / quorum 1 for now. Replicas fit without a rewrite: one lease
 * row per replica already carries its own `output_hash`, so a quorum check compares those rows
 * before the task completes.
 */
import type { Kysely } from 'kysely';
import { CodedError } from '../protocol/errors.ts';
import type { JobState, JobStatus, TaskCounts, TaskState } from '../protocol/http.ts';
import type { DialectCapabilities } from './capabilities.ts';
import { orderClaimCandidates } from './claim-order.ts';
import type { Database } from './schema.ts';
import type {
  ClaimRequest,
  ClaimedLease,
  CompleteOutcome,
  CompleteRequest,
  EndedLease,
  FailLeaseRequest,
  FailOutcome,
  ModuleMeta,
  ModuleRecord,
  NewJob,
  SiteRecord,
  Store,
  TaskResult,
} from './store.ts';
import { parseTaskErrors } from './task-history.ts';
import { fromDbBytes, sha256Hex, toDbBytes } from './bytes.ts';
import { OPEN_TASK_STATES, endCountedAttempt, findLease, releaseLease, settleJob, toEndedLease } from './lease-endings.ts';
const TASK_COLUMNS_PER_ROW = 6;

/** The wire task id of a task: tasks are keyed by (job, input index). */
export function taskIdOf(jobId: string, index: number): string {
  return `${jobId}:${index}`;
}

/** Options of `createKyselyStore`. */
export interface KyselyStoreOptions {
  /** Called by `close()` after the Kysely instance is destroyed (e.g. to remove temp files). */
  onClose?: () => Promise<void> | void;
}

/** Builds the store over a migrated database. `close()` destroys the Kysely instance. */
export function createKyselyStore(db: Kysely<Database>, caps: DialectCapabilities, options: KyselyStoreOptions = {}): Store {
  let closed: Promise<void> | undefined;

  return {
    async saveModule(module: ModuleRecord) {
      const result = await db
        .insertInto('modules')
        .values({
          hash: module.hash,
          abi: module.abi,
          size: module.size,
          bytes: toDbBytes(module.bytes),
          created_at: module.createdAt,
        })
        .onConflict((oc) => oc.column('hash').doNothing())
        .executeTakeFirst();
      return { created: Number(result.numInsertedOrUpdatedRows ?? 0n) > 0 };
    },

    async getModule(hash) {
      const row = await db.selectFrom('modules').selectAll().where('hash', '=', hash).executeTakeFirst();
      return row && { ...toModuleMeta(row), bytes: fromDbBytes(row.bytes) };
    },

    async getModuleMeta(hash) {
      const row = await db
        .selectFrom('modules')
        .select(['hash', 'abi', 'size', 'created_at'])
        .where('hash', '=', hash)
        .executeTakeFirst();
      return row && toModuleMeta(row);
    },

    async createSite(site: SiteRecord) {
      const result = await db
        .insertInto('sites')
        .values({ site_key: site.siteKey, name: site.name, origins: JSON.stringify(site.origins), created_at: site.createdAt })
        .onConflict((oc) => oc.column('site_key').doNothing())
        .executeTakeFirst();
      if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) {
        throw new CodedError('conflict', `site ${site.siteKey} already exists`);
      }
    },

    async getSite(siteKey) {
      const row = await db.selectFrom('sites').selectAll().where('site_key', '=', siteKey).executeTakeFirst();
      return (
        row && { siteKey: row.site_key, name: row.name, origins: JSON.parse(row.origins) as string[], createdAt: Number(row.created_at) }
      );
    },

    async createJob(job: NewJob) {
      const batch = Math.max(1, Math.min(1000, Math.floor(caps.maxParameters / TASK_COLUMNS_PER_ROW)));
      await db.transaction().execute(async (trx) => {
        const module = await trx.selectFrom('modules').select('hash').where('hash', '=', job.moduleHash).executeTakeFirst();
        if (!module) throw new CodedError('module_not_found', `no module ${job.moduleHash}: upload it first (POST /api/v1/modules)`);
        const inserted = await trx
          .insertInto('jobs')
          .values({
            id: job.id,
            module_hash: job.moduleHash,
            title: job.title ?? null,
            state: job.inputs.length === 0 ? 'completed' : 'active',
            redundancy: job.redundancy,
            quorum: job.quorum,
            deadline_ms: job.deadlineMs,
            max_attempts: job.maxAttempts,
            priority: job.priority,
            created_at: job.createdAt,
            finished_at: job.inputs.length === 0 ? job.createdAt : null,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .executeTakeFirst();
        if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) {
          throw new CodedError('conflict', `job ${job.id} already exists`);
        }
        for (let start = 0; start < job.inputs.length; start += batch) {
          const rows = job.inputs.slice(start, start + batch).map((input, offset) => ({
            job_id: job.id,
            idx: start + offset,
            input: toDbBytes(input),
            state: 'pending',
            attempts: 0,
            updated_at: job.createdAt,
          }));
          await trx.insertInto('tasks').values(rows).execute();
        }
      });
    },

    async getJob(id) {
      const job = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      if (!job) return undefined;
      const rows = await db
        .selectFrom('tasks')
        .select(['state', (eb) => eb.fn.countAll<number | string | bigint>().as('n')])
        .where('job_id', '=', id)
        .groupBy('state')
        .execute();
      const counts: TaskCounts = { total: 0, pending: 0, running: 0, completed: 0, failed: 0, cancelled: 0 };
      for (const row of rows) {
        const n = Number(row.n);
        counts.total += n;
        if (row.state in counts) counts[row.state as TaskState] += n;
      }
      const status: JobStatus = {
        id: job.id,
        state: job.state as JobState,
        module: job.module_hash,
        redundancy: Number(job.redundancy),
        quorum: Number(job.quorum),
        deadlineMs: Number(job.deadline_ms),
        maxAttempts: Number(job.max_attempts),
        priority: Number(job.priority),
        createdAt: Number(job.created_at),
        counts,
      };
      if (job.title !== null) status.title = job.title;
      return status;
    },

    async listResults(jobId, fromIndex, limit) {
      if (limit < 1) return [];
      const rows = await db
        .selectFrom('tasks')
        .select(['idx', 'state', 'output', 'errors'])
        .where('job_id', '=', jobId)
        .where('idx', '>=', Math.max(0, Math.floor(fromIndex)))
        .orderBy('idx')
        .limit(Math.floor(limit))
        .execute();
      return rows.map((row) => {
        const result: TaskResult = { index: Number(row.idx), state: row.state as TaskState };
        if (row.state === 'completed' && row.output !== null) result.output = fromDbBytes(row.output);
        const errors = parseTaskErrors(row.errors);
        if (errors.length > 0) result.errors = errors;
        return result;
      });
    },

    async cancelJob(id, now) {
      return db.transaction().execute(async (trx) => {
        let find = trx.selectFrom('jobs').select('state').where('id', '=', id);
        if (caps.rowLocks) find = find.forUpdate();
        const job = await find.executeTakeFirst();
        if (!job) return undefined;
        if (job.state !== 'active') return { revoked: [] };
        const live = await trx
          .selectFrom('leases')
          .select(['id', 'volunteer_id', 'session_id'])
          .where('job_id', '=', id)
          .where('state', '=', 'active')
          .execute();
        await trx
          .updateTable('leases')
          .set({ state: 'revoked', ended_at: now })
          .where('job_id', '=', id)
          .where('state', '=', 'active')
          .execute();
        await trx
          .updateTable('tasks')
          .set({ state: 'cancelled', updated_at: now })
          .where('job_id', '=', id)
          .where('state', 'in', OPEN_TASK_STATES)
          .execute();
        await trx.updateTable('jobs').set({ state: 'cancelled', finished_at: now }).where('id', '=', id).execute();
        return { revoked: live.map(toEndedLease) };
      });
    },

    async claimTasks(request: ClaimRequest) {
      const slots = Math.floor(request.slots);
      if (!(slots > 0)) return [];
      return db.transaction().execute(async (trx) => {
        const candidates = await trx
          .selectFrom('jobs')
          .select(['id', 'module_hash', 'priority', 'created_at', 'deadline_ms'])
          .where('state', '=', 'active')
          .where(({ exists, selectFrom }) =>
            exists(
              selectFrom('tasks')
                .select('tasks.idx')
                .whereRef('tasks.job_id', '=', 'jobs.id')
                .where('tasks.state', '=', 'pending'),
            ),
          )
          .execute();
        const ordered = orderClaimCandidates(
          candidates.map((j) => ({
            id: j.id,
            moduleHash: j.module_hash,
            priority: Number(j.priority),
            createdAt: Number(j.created_at),
            deadlineMs: Number(j.deadline_ms),
          })),
          request.cached,
        );

        const claimed: ClaimedLease[] = [];
        for (const job of ordered) {
          const remaining = slots - claimed.length;
          if (remaining <= 0) break;
          let pick = trx
            .selectFrom('tasks')
            .select(['idx', 'input'])
            .where('job_id', '=', job.id)
            .where('state', '=', 'pending')
            .orderBy('idx')
            .limit(remaining);
          if (caps.skipLocked) pick = pick.forUpdate().skipLocked();
          const tasks = await pick.execute();
          if (tasks.length === 0) continue;
          const indexes = tasks.map((t) => Number(t.idx));
          await trx
            .updateTable('tasks')
            .set((eb) => ({ state: 'running', attempts: eb('attempts', '+', 1), updated_at: request.now }))
            .where('job_id', '=', job.id)
            .where('idx', 'in', indexes)
            .execute();
          const deadline = request.now + job.deadlineMs;
          const leases = tasks.map((task) => ({
            id: request.newLeaseId(),
            job_id: job.id,
            task_idx: Number(task.idx),
            volunteer_id: request.volunteerId,
            session_id: request.sessionId,
            site_key: request.siteKey,
            state: 'active',
            issued_at: request.now,
            deadline,
            ended_at: null,
            cpu_ms: null,
            output_hash: null,
            error_kind: null,
            error_message: null,
          }));
          await trx.insertInto('leases').values(leases).execute();
          tasks.forEach((task, i) => {
            claimed.push({
              leaseId: leases[i]!.id,
              taskId: taskIdOf(job.id, Number(task.idx)),
              jobId: job.id,
              index: Number(task.idx),
              moduleHash: job.moduleHash,
              input: fromDbBytes(task.input),
              deadline,
              deadlineMs: job.deadlineMs,
            });
          });
        }
        return claimed;
      });
    },

    async completeLease(request: CompleteRequest): Promise<CompleteOutcome> {
      const outputHash = sha256Hex(request.output);
      return db.transaction().execute(async (trx) => {
        const lease = await findLease(trx, request.leaseId);
        if (!lease || lease.volunteer_id !== request.volunteerId) return 'stale';
        if (lease.state === 'completed') return lease.output_hash === outputHash ? 'duplicate' : 'stale';
        if (lease.state !== 'active') return 'stale';
        await trx
          .updateTable('leases')
          .set({ state: 'completed', ended_at: request.now, cpu_ms: Math.round(request.cpuMs), output_hash: outputHash })
          .where('id', '=', lease.id)
          .execute();
        await trx
          .updateTable('tasks')
          .set({ state: 'completed', output: toDbBytes(request.output), updated_at: request.now })
          .where('job_id', '=', lease.job_id)
          .where('idx', '=', lease.task_idx)
          .where('state', '=', 'running')
          .execute();
        await settleJob(trx, caps, lease.job_id, request.now);
        return 'accepted';
      });
    },

    async failLease(request: FailLeaseRequest): Promise<FailOutcome> {
      return db.transaction().execute(async (trx) => {
        const lease = await findLease(trx, request.leaseId);
        if (!lease || lease.volunteer_id !== request.volunteerId) return 'stale';
        if (lease.state === 'failed') {
          return lease.error_kind === request.kind && lease.error_message === request.message ? 'duplicate' : 'stale';
        }
        if (lease.state !== 'active') return 'stale';
        await endCountedAttempt(trx, caps, lease, 'failed', request.kind, request.message, request.now);
        return 'recorded';
      });
    },

    async releaseSession(sessionId, now) {
      return db.transaction().execute(async (trx) => {
        const live = await trx
          .selectFrom('leases')
          .selectAll()
          .where('session_id', '=', sessionId)
          .where('state', '=', 'active')
          .execute();
        for (const lease of live) await releaseLease(trx, lease, now);
        return live.map(toEndedLease);
      });
    },

    async expireLeases(cutoff, now) {
      return db.transaction().execute(async (trx) => {
        const overdue = await trx
          .selectFrom('leases')
          .selectAll()
          .where('state', '=', 'active')
          .where('deadline', '<', cutoff)
          .orderBy('deadline')
          .execute();
        for (const lease of overdue) {
          const message = `deadline passed: no answer by ${new Date(Number(lease.deadline)).toISOString()} (lease ${lease.id})`;
          await endCountedAttempt(trx, caps, lease, 'expired', 'timeout', message, now);
        }
        return overdue.map(toEndedLease);
      });
    },

    close() {
      closed ??= (async () => {
        await db.destroy();
        await options.onClose?.();
      })();
      return closed;
    },
  };
}

function toModuleMeta(row: { hash: string; abi: string; size: number; created_at: number }): ModuleMeta {
  return { hash: row.hash, abi: row.abi as ModuleMeta['abi'], size: Number(row.size), createdAt: Number(row.created_at) };
}

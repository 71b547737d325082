/**
 * The one implementation of `Store`, written against Kysely. Dialect differences come in through
 * `DialectCapabilities`; every verb that changes more than one row runs in one transaction.
 *
 * Task states: pending ──claim──▶ running ──result──▶ completed
 *                                  running ──fail/expire──▶ pending | failed (attempts >= max)
 *                                  running ──release──▶ pending (attempt not counted, unless a crash streak)
 *                                  pending | running ──cancel──▶ cancelled
 * Job states:  active ──last task terminal──▶ completed;  active ──cancel──▶ cancelled.
 * (Lease states: see the lifecycle in `store.ts`.)
 *
 * `pending` means the task wants another replica (a volunteer may claim it); `running` that all
 * the replicas it wants are live or answered. Claims are in `claims.ts`, lease endings (results,
 * quorum, failures, releases) in `lease-endings.ts`.
 */
import type { Kysely } from 'kysely';
import { CodedError } from '../protocol/errors.ts';
import type { JobState, JobStatus, TaskCounts, TaskState } from '../protocol/http.ts';
import type { DialectCapabilities } from './capabilities.ts';
import { claimReplicas, taskIdOf } from './claims.ts';
import { DEFAULT_QUOTA, type QuotaLimits } from '../scheduler/reputation.ts';
import type { Database } from './schema.ts';
import type {
  EndedLease,
  ClaimRequest,
  ClaimedLease,
  CompleteOutcome,
  CompleteRequest,
  FailLeaseRequest,
  FailOutcome,
  ModuleRecord,
  NewJob,
  NewSite,
  SiteChange,
  Store,
  TaskResult,
} from './store.ts';
import { parseTaskErrors } from './task-history.ts';
import { fromDbBytes, sha256Hex, toDbBytes } from './bytes.ts';
import {
  OPEN_TASK_STATES,
  endCountedAttempt,
  findLease,
  recordResult,
  releaseLease,
  toEndedLease,
  type StoreContext,
} from './lease-endings.ts';
import { findVolunteer } from './volunteer-records.ts';
import { changeSite, findSite, insertSite } from './sites.ts';
import { findKeyByHash, insertKey, listKeys, revokeKey } from './keys.ts';
import { findModule, findModuleMeta, saveModule } from './modules.ts';
import { OPERATOR } from '../accounts/principal.ts';

export { taskIdOf };
const TASK_COLUMNS_PER_ROW = 12;

/** Options of `createKyselyStore`. */
export interface KyselyStoreOptions {
  /** Called by `close()` after the Kysely instance is destroyed (e.g. to remove temp files). */
  onClose?: () => Promise<void> | void;
  /** Bounds of volunteers' concurrent-lease quotas (default `DEFAULT_QUOTA`). */
  quota?: QuotaLimits;
}

/** Builds the store over a migrated database. `close()` destroys the Kysely instance. */
export function createKyselyStore(db: Kysely<Database>, caps: DialectCapabilities, options: KyselyStoreOptions = {}): Store {
  let closed: Promise<void> | undefined;
  const ctx: StoreContext = { caps, quota: options.quota ?? DEFAULT_QUOTA };

  return {
    async saveModule(module: ModuleRecord, owner) {
      return db.transaction().execute((trx) => saveModule(trx, module, owner));
    },

    async getModule(hash) {
      return findModule(db, hash);
    },

    async getModuleMeta(hash, owner) {
      return findModuleMeta(db, hash, owner);
    },

    async createKey(key) {
      return insertKey(db, key);
    },

    async findKeyByHash(secretHash) {
      return findKeyByHash(db, secretHash);
    },

    async listKeys() {
      return listKeys(db);
    },

    async revokeKey(id, now) {
      return db.transaction().execute((trx) => revokeKey(trx, id, now));
    },

    async createSite(site: NewSite) {
      return db.transaction().execute((trx) => insertSite(trx, site));
    },

    async getSite(siteKey) {
      return findSite(db, siteKey);
    },

    async updateSite(siteKey, change: SiteChange) {
      return db.transaction().execute((trx) => changeSite(trx, ctx, siteKey, change));
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
            purpose: job.purpose ?? null,
            state: job.inputs.length === 0 ? 'completed' : 'active',
            redundancy: job.redundancy,
            quorum: job.quorum,
            adaptive: job.adaptiveReplication === false ? 0 : 1,
            deadline_ms: job.deadlineMs,
            max_attempts: job.maxAttempts,
            priority: job.priority,
            created_at: job.createdAt,
            finished_at: job.inputs.length === 0 ? job.createdAt : null,
            site_key: job.siteKey ?? null,
            owner: job.owner ?? OPERATOR,
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
            live: 0,
            results: 0,
            wanted: job.redundancy,
            needed: job.quorum,
            failures: 0,
            releases: 0,
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
        adaptiveReplication: Number(job.adaptive) !== 0,
        deadlineMs: Number(job.deadline_ms),
        maxAttempts: Number(job.max_attempts),
        priority: Number(job.priority),
        createdAt: Number(job.created_at),
        owner: job.owner,
        counts,
      };
      if (job.title !== null) status.title = job.title;
      if (job.purpose !== null) status.purpose = job.purpose;
      if (job.site_key !== null) status.site = job.site_key;
      return status;
    },

    async countActiveJobs(owner) {
      const row = await db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
        .where('owner', '=', owner)
        .where('state', '=', 'active')
        .executeTakeFirstOrThrow();
      return Number(row.n);
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
          .select(['id', 'volunteer_id', 'session_id', 'job_id'])
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
          .set({ state: 'cancelled', live: 0, updated_at: now })
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
      return db.transaction().execute((trx) => claimReplicas(trx, ctx, request, slots));
    },

    async completeLease(request: CompleteRequest) {
      const outputHash = sha256Hex(request.output);
      return db.transaction().execute(async (trx) => {
        const lease = await findLease(trx, request.leaseId);
        if (!lease || lease.volunteer_id !== request.volunteerId) return { outcome: 'stale' as CompleteOutcome, revoked: [], reopened: false };
        const answer = (outcome: CompleteOutcome) => ({ outcome, jobId: lease.job_id, revoked: [], reopened: false });
        if (lease.state === 'completed') return answer(lease.output_hash === outputHash ? 'duplicate' : 'stale');
        if (lease.state !== 'active') return answer('stale');
        const effects = await recordResult(trx, ctx, lease, { output: request.output, outputHash, cpuMs: request.cpuMs, now: request.now });
        return { outcome: 'accepted' as CompleteOutcome, jobId: lease.job_id, ...effects };
      });
    },

    async failLease(request: FailLeaseRequest) {
      return db.transaction().execute(async (trx) => {
        const lease = await findLease(trx, request.leaseId);
        if (!lease || lease.volunteer_id !== request.volunteerId) return { outcome: 'stale' as FailOutcome, revoked: [], reopened: false };
        const answer = (outcome: FailOutcome) => ({ outcome, jobId: lease.job_id, revoked: [], reopened: false });
        if (lease.state === 'failed') {
          return answer(lease.error_kind === request.kind && lease.error_message === request.message ? 'duplicate' : 'stale');
        }
        if (lease.state !== 'active') return answer('stale');
        const effects = await endCountedAttempt(trx, ctx, lease, 'failed', request.kind, request.message, request.now);
        return { outcome: 'recorded' as FailOutcome, jobId: lease.job_id, ...effects };
      });
    },

    async releaseSession(sessionId, now, cause = 'vanished') {
      return db.transaction().execute(async (trx) => {
        const live = await trx
          .selectFrom('leases')
          .selectAll()
          .where('session_id', '=', sessionId)
          .where('state', '=', 'active')
          .execute();
        const ended = live.map(toEndedLease);
        for (const lease of live) {
          // A release that fails its task revokes the task's other replicas: tell their holders too.
          if ((await findLease(trx, lease.id))?.state !== 'active') continue;
          ended.push(...(await releaseLease(trx, ctx, lease, now, cause)).revoked);
        }
        return ended;
      });
    },

    async adoptLeases(volunteerId, sessionId, keepSessions) {
      let adopt = db
        .updateTable('leases')
        .set({ session_id: sessionId })
        .where('volunteer_id', '=', volunteerId)
        .where('state', '=', 'active')
        .where('session_id', '!=', sessionId);
      if (keepSessions.length > 0) adopt = adopt.where('session_id', 'not in', [...keepSessions]);
      const result = await adopt.executeTakeFirst();
      return Number(result.numUpdatedRows ?? 0n);
    },

    async sessionsWithLeases() {
      const rows = await db.selectFrom('leases').select('session_id').distinct().where('state', '=', 'active').execute();
      return rows.map((row) => row.session_id);
    },

    async deferDeadlines(sessionIds, until) {
      return db.transaction().execute(async (trx) => {
        const deferred: string[] = [];
        // In chunks: a dialect bounds the parameters of one statement (3 besides the ids).
        const chunk = Math.max(1, caps.maxParameters - 3);
        for (let start = 0; start < sessionIds.length; start += chunk) {
          const rows = await trx
            .updateTable('leases')
            .set({ deadline: until })
            .where('state', '=', 'active')
            .where('deadline', '<', until)
            .where('session_id', 'in', sessionIds.slice(start, start + chunk))
            .returning('id')
            .execute();
          deferred.push(...rows.map((row) => row.id));
        }
        return deferred;
      });
    },

    async releaseLeases(leaseIds, now) {
      return db.transaction().execute(async (trx) => {
        const ended: EndedLease[] = [];
        for (const id of leaseIds) {
          const lease = await findLease(trx, id);
          if (lease?.state !== 'active') continue;
          ended.push(toEndedLease(lease), ...(await releaseLease(trx, ctx, lease, now, 'ended')).revoked);
        }
        return ended;
      });
    },

    async getVolunteer(id) {
      return findVolunteer(db, id);
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
        const ended = [];
        for (const lease of overdue) {
          // An earlier expiry in this sweep may have settled this lease's task and revoked it.
          if ((await findLease(trx, lease.id))?.state !== 'active') continue;
          const message = `deadline passed: no answer by ${new Date(Number(lease.deadline)).toISOString()} (lease ${lease.id})`;
          const { revoked } = await endCountedAttempt(trx, ctx, lease, 'expired', 'timeout', message, now);
          ended.push(toEndedLease(lease), ...revoked);
        }
        return ended;
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


/**
 * The one implementation of `Store`, written against Kysely. Dialect differences come in through
 * `DialectCapabilities`; every verb that changes more than one row runs in one transaction.
 *
 * Task states: pending ──claim──▶ running ──result──▶ completed
 *                                  running ──fail/expire──▶ pending | failed (attempts >= max)
 *                                  running ──release──▶ pending (attempt not counted, unless a crash streak)
 *                                  pending | running ──cancel──▶ cancelled
 * Job states:  staging ──inputs committed──▶ active (a streamed job; `job-inputs.ts`);
 *              active (closed) ──last task terminal──▶ completed;  active ──close──▶ the same check;
 *              active ──cancel──▶ cancelled.
 * (Lease states: see the lifecycle in `store.ts`.)
 *
 * `pending` means the task wants another replica (a volunteer may claim it); `running` that all
 * the replicas it wants are live or answered. Claims are in `claims.ts`, lease endings (results,
 * quorum, failures, releases) in `lease-endings.ts`.
 */
import type { Kysely } from 'kysely';
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
} from './store.ts';
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
import { beginInputs, closeJob, commitInputs, createWholeJob, discardAbandonedInputs, discardInputs, insertJob, stageInputs } from './job-inputs.ts';
import { STAGING, listJobStatuses, readJobState, readJobStatus, readResults, readSettled } from './job-status.ts';

export { taskIdOf };

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
      await createWholeJob(db, caps, job);
    },

    async getJob(id) {
      return readJobStatus(db, id);
    },

    async getJobState(id) {
      return readJobState(db, id);
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
      return readResults(db, jobId, fromIndex, limit);
    },

    async listJobs(query) {
      return listJobStatuses(db, query);
    },

    async listSettled(jobId, afterSeq, limit) {
      return readSettled(db, jobId, afterSeq, limit);
    },

    async createStagedJob(job) {
      await db.transaction().execute((trx) => insertJob(trx, job, 'staged'));
    },

    beginInputs: (jobId) => beginInputs(db, caps, jobId),
    stageInputs: (jobId, fromIndex, inputs, now) => stageInputs(db, caps, jobId, fromIndex, inputs, now),
    commitInputs: (jobId, total, now) => commitInputs(db, caps, jobId, total, now),
    discardInputs: (jobId) => discardInputs(db, caps, jobId),
    closeJob: (jobId, now) => closeJob(db, caps, jobId, now),
    discardAbandonedInputs: () => discardAbandonedInputs(db),

    async cancelJob(id, now) {
      return db.transaction().execute(async (trx) => {
        let find = trx.selectFrom('jobs').select('state').where('id', '=', id);
        if (caps.rowLocks) find = find.forUpdate();
        const job = await find.executeTakeFirst();
        if (!job || job.state === STAGING) return undefined;
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


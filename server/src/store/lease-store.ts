/**
 * Leases in the store: claiming replicas (`claims.ts`), answering them (a result or a failure),
 * and taking them back (a closed connection, a restart, a passed deadline). How a lease ends and
 * what follows for its task and job is `lease-endings.ts`; every verb is one transaction.
 */
import type { Kysely, Transaction } from 'kysely';
import { answerBatchIn, claimIn, completeAloneIn, failIn } from './answers.ts';
import type { StoreContext } from './db.ts';
import { endCountedAttempt, findLease, releaseLease, toEndedLease } from './lease-endings.ts';
import { LIVE } from './lease-states.ts';
import type { Database } from './schema.ts';
import type { EndedLease, Store } from './store.ts';

/** The lease verbs of `Store`. */
export type LeaseVerbs = Pick<
  Store,
  | 'claimTasks'
  | 'completeLease'
  | 'failLease'
  | 'answerBatch'
  | 'releaseSession'
  | 'adoptLeases'
  | 'sessionsWithLeases'
  | 'deferDeadlines'
  | 'releaseLeases'
  | 'expireLeases'
>;

/** The lease verbs of `Store`. */
export function leaseStore(db: Kysely<Database>, ctx: StoreContext): LeaseVerbs {
  const { caps } = ctx;
  // A rolled-back claim leaves the tasks it took from the fresh-task pool pending: start it afresh.
  // Forgotten inside the transaction when its work throws (before its connection goes to the next
  // one), and again after any failure, a failed commit included (then the next transaction may
  // have begun: what it read stays true, as it read the rolled-back state). Unwritten grants undo
  // the transaction's steps by themselves (`granted-leases.ts`, told by the driver).
  const forget = (): void => {
    ctx.freshTasks?.clear();
  };
  const hotPath = <T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> =>
    db
      .transaction()
      .execute(async (trx) => {
        try {
          return await work(trx);
        } catch (error) {
          forget();
          throw error;
        }
      })
      .catch((error: unknown) => {
        forget();
        throw error;
      });
  return {
    // The hot path's bodies are `answers.ts`, shared with the batch verb (group commit).
    claimTasks: (request) => hotPath((trx) => claimIn(trx, ctx, request)),
    completeLease: (request) => hotPath((trx) => completeAloneIn(trx, ctx, request)),
    failLease: (request) => hotPath((trx) => failIn(trx, ctx, request)),
    answerBatch: (ops) => hotPath((trx) => answerBatchIn(trx, ctx, ops)),

    async releaseSession(sessionId, now, cause = 'vanished') {
      return db.transaction().execute(async (trx) => {
        const live = await trx
          .selectFrom('leases')
          .selectAll()
          .where('session_id', '=', sessionId)
          .where('state', '=', LIVE)
          // One order for every release: releases of several sessions at once lock tasks alike.
          .orderBy('job_id')
          .orderBy('task_idx')
          .execute();
        const ended = live.map(toEndedLease);
        for (const lease of live) {
          // A release that fails its task revokes the task's other replicas: tell their holders too.
          // Read again, locked: another node may have ended it or adopted it into a new session.
          const current = await findLease(trx, ctx, lease.id);
          if (current?.state !== 'active' || current.session_id !== sessionId) continue;
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
        .where('state', '=', LIVE)
        .where('session_id', '!=', sessionId);
      if (keepSessions.length > 0) adopt = adopt.where('session_id', 'not in', [...keepSessions]);
      const rows = await adopt.returning('id').execute();
      return rows.map((row) => row.id);
    },

    async sessionsWithLeases() {
      const rows = await db.selectFrom('leases').select('session_id').distinct().where('state', '=', LIVE).execute();
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
            .where('state', '=', LIVE)
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
          const lease = await findLease(trx, ctx, id);
          if (lease?.state !== 'active') continue;
          ended.push(toEndedLease(lease), ...(await releaseLease(trx, ctx, lease, now, 'ended')).revoked);
        }
        return ended;
      });
    },

    async expireLeases(cutoff, now) {
      return db.transaction().execute(async (trx) => {
        const overdue = await trx
          .selectFrom('leases')
          .selectAll()
          .where('state', '=', LIVE)
          .where('deadline', '<', cutoff)
          .orderBy('deadline')
          .execute();
        const ended = [];
        for (const lease of overdue) {
          // An earlier expiry in this sweep may have settled this lease's task and revoked it;
          // another node may have ended the lease or deferred its deadline (read again, locked).
          const current = await findLease(trx, ctx, lease.id);
          if (current?.state !== 'active' || Number(current.deadline) >= cutoff) continue;
          const message = `deadline passed: no answer by ${new Date(Number(lease.deadline)).toISOString()} (lease ${lease.id})`;
          const { revoked } = await endCountedAttempt(trx, ctx, lease, 'expired', 'timeout', message, now);
          ended.push(toEndedLease(lease), ...revoked);
        }
        return ended;
      });
    },
  };
}

/**
 * The hot path's verbs inside a caller's transaction: a claim, a result, a reported failure. The
 * single verbs (`claimTasks`, `completeLease`, `failLease`) run one of them in a transaction of
 * its own; `answerBatch` runs many, one after another, in one transaction (group commit: one
 * commit for many answers, each acknowledged only after that commit). Same code either way, so
 * fencing, quorum and idempotence are the same whether an answer came alone or in a batch.
 */
import { claimReplicas } from './claims.ts';
import { sha256Hex } from './bytes.ts';
import type { Db, StoreContext } from './db.ts';
import { endCountedAttempt, findLease, recordResult } from './lease-endings.ts';
import { writeUnwritten } from './lease-rows.ts';
import { recordLoneResults } from './lone-results.ts';
import type { AnswerEffects, BatchOp, BatchResult, ClaimOutcome, ClaimRequest, CompleteOutcome, CompleteRequest, FailLeaseRequest, FailOutcome } from './store.ts';

/** See `Store.claimTasks`. */
export async function claimIn(trx: Db, ctx: StoreContext, request: ClaimRequest): Promise<ClaimOutcome> {
  const slots = Math.floor(request.slots);
  if (!(slots > 0)) return { leases: [], empty: { reason: 'quota' } };
  return claimReplicas(trx, ctx, request, slots);
}

/**
 * The one-by-one path reads its lease from the database, and when it ends it, may judge, revoke or
 * reopen other leases and tasks than its own: grants not written yet (`granted-leases.ts`) are
 * written first, inside the transaction, all of them. Before the read when the lease is one of them,
 * else only once the answer ends a live lease: a stale answer (a made-up lease, a repeat) writes
 * nothing, so a flood of them leaves the grants unwritten.
 */
async function writeGrants(trx: Db, ctx: StoreContext, leaseId?: string): Promise<void> {
  if (leaseId === undefined ? ctx.granted?.size() : ctx.granted?.has(leaseId)) await writeUnwritten(trx, ctx);
}

/** See `Store.completeLease`. */
export async function completeIn(trx: Db, ctx: StoreContext, request: CompleteRequest): Promise<AnswerEffects<CompleteOutcome>> {
  await writeGrants(trx, ctx, request.leaseId);
  const lease = await findLease(trx, ctx, request.leaseId);
  if (!lease || lease.volunteer_id !== request.volunteerId) return { outcome: 'stale', revoked: [], reopened: false };
  const answer = (outcome: CompleteOutcome) => ({ outcome, jobId: lease.job_id, revoked: [], reopened: false });
  // Hashed only for a lease of this volunteer: an output for a made-up lease costs no hashing.
  if (lease.state !== 'active' && lease.state !== 'completed') return answer('stale');
  const outputHash = sha256Hex(request.output);
  if (lease.state === 'completed') return answer(lease.output_hash === outputHash ? 'duplicate' : 'stale');
  await writeGrants(trx, ctx);
  const effects = await recordResult(trx, ctx, lease, { output: request.output, outputHash, cpuMs: request.cpuMs, now: request.now });
  return { outcome: 'accepted', jobId: lease.job_id, ...effects };
}

/**
 * One result alone (`Store.completeLease`): taken as a lone result when its lease is a grant not
 * written yet (`lone-results.ts`, which writes only that row), else by the one-by-one path.
 */
export async function completeAloneIn(trx: Db, ctx: StoreContext, request: CompleteRequest): Promise<AnswerEffects<CompleteOutcome>> {
  const lone = ctx.granted?.has(request.leaseId) ? (await recordLoneResults(trx, ctx, [request])).get(0) : undefined;
  return lone ?? completeIn(trx, ctx, request);
}

/** See `Store.failLease`. */
export async function failIn(trx: Db, ctx: StoreContext, request: FailLeaseRequest): Promise<AnswerEffects<FailOutcome>> {
  await writeGrants(trx, ctx, request.leaseId);
  const lease = await findLease(trx, ctx, request.leaseId);
  if (!lease || lease.volunteer_id !== request.volunteerId) return { outcome: 'stale', revoked: [], reopened: false };
  const answer = (outcome: FailOutcome) => ({ outcome, jobId: lease.job_id, revoked: [], reopened: false });
  if (lease.state === 'failed') {
    return answer(lease.error_kind === request.kind && lease.error_message === request.message ? 'duplicate' : 'stale');
  }
  if (lease.state !== 'active') return answer('stale');
  await writeGrants(trx, ctx);
  const effects = await endCountedAttempt(trx, ctx, lease, 'failed', request.kind, request.message, request.now);
  return { outcome: 'recorded', jobId: lease.job_id, ...effects };
}

/**
 * Runs the operations inside `trx`; see `Store.answerBatch`. Lone results go first, together
 * (`lone-results.ts`), then everything else in order. Each volunteer's operations keep their order:
 * a result goes early only when every earlier operation of its volunteer in the batch did too,
 * and only when no other operation of the batch answers its lease. Operations of different
 * volunteers arrived concurrently, so any order between them is one they could have come in.
 */
export async function answerBatchIn(trx: Db, ctx: StoreContext, ops: readonly BatchOp[]): Promise<BatchResult[]> {
  const answered = new Map<string, number>();
  for (const op of ops) if (op.verb !== 'claim') answered.set(op.request.leaseId, (answered.get(op.request.leaseId) ?? 0) + 1);
  const heldBack = new Set<string>();
  const together: { at: number; request: CompleteRequest }[] = [];
  for (const [at, op] of ops.entries()) {
    const volunteerId = op.request.volunteerId;
    if (op.verb === 'complete' && answered.get(op.request.leaseId) === 1 && !heldBack.has(volunteerId)) together.push({ at, request: op.request });
    else heldBack.add(volunteerId);
  }
  const taken = await recordLoneResults(
    trx,
    ctx,
    together.map((entry) => entry.request),
  );
  const early = new Map([...taken].map(([n, effects]) => [together[n]!.at, effects]));
  const results: BatchResult[] = [];
  for (const [at, op] of ops.entries()) {
    const effects = early.get(at);
    if (effects) results.push({ verb: 'complete', effects });
    else if (op.verb === 'claim') results.push({ verb: 'claim', outcome: await claimIn(trx, ctx, op.request) });
    else if (op.verb === 'complete') results.push({ verb: 'complete', effects: await completeIn(trx, ctx, op.request) });
    else results.push({ verb: 'fail', effects: await failIn(trx, ctx, op.request) });
  }
  return results;
}

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
import type { AnswerEffects, BatchOp, BatchResult, ClaimOutcome, ClaimRequest, CompleteOutcome, CompleteRequest, FailLeaseRequest, FailOutcome } from './store.ts';

/** See `Store.claimTasks`. */
export async function claimIn(trx: Db, ctx: StoreContext, request: ClaimRequest): Promise<ClaimOutcome> {
  const slots = Math.floor(request.slots);
  if (!(slots > 0)) return { leases: [], empty: { reason: 'quota' } };
  return claimReplicas(trx, ctx, request, slots);
}

/** See `Store.completeLease`. */
export async function completeIn(trx: Db, ctx: StoreContext, request: CompleteRequest): Promise<AnswerEffects<CompleteOutcome>> {
  const lease = await findLease(trx, ctx, request.leaseId);
  if (!lease || lease.volunteer_id !== request.volunteerId) return { outcome: 'stale', revoked: [], reopened: false };
  const answer = (outcome: CompleteOutcome) => ({ outcome, jobId: lease.job_id, revoked: [], reopened: false });
  // Hashed only for a lease of this volunteer: an output for a made-up lease costs no hashing.
  if (lease.state !== 'active' && lease.state !== 'completed') return answer('stale');
  const outputHash = sha256Hex(request.output);
  if (lease.state === 'completed') return answer(lease.output_hash === outputHash ? 'duplicate' : 'stale');
  const effects = await recordResult(trx, ctx, lease, { output: request.output, outputHash, cpuMs: request.cpuMs, now: request.now });
  return { outcome: 'accepted', jobId: lease.job_id, ...effects };
}

/** See `Store.failLease`. */
export async function failIn(trx: Db, ctx: StoreContext, request: FailLeaseRequest): Promise<AnswerEffects<FailOutcome>> {
  const lease = await findLease(trx, ctx, request.leaseId);
  if (!lease || lease.volunteer_id !== request.volunteerId) return { outcome: 'stale', revoked: [], reopened: false };
  const answer = (outcome: FailOutcome) => ({ outcome, jobId: lease.job_id, revoked: [], reopened: false });
  if (lease.state === 'failed') {
    return answer(lease.error_kind === request.kind && lease.error_message === request.message ? 'duplicate' : 'stale');
  }
  if (lease.state !== 'active') return answer('stale');
  const effects = await endCountedAttempt(trx, ctx, lease, 'failed', request.kind, request.message, request.now);
  return { outcome: 'recorded', jobId: lease.job_id, ...effects };
}

/** Runs the operations in order inside `trx`; see `Store.answerBatch`. */
export async function answerBatchIn(trx: Db, ctx: StoreContext, ops: readonly BatchOp[]): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for (const op of ops) {
    if (op.verb === 'claim') results.push({ verb: 'claim', outcome: await claimIn(trx, ctx, op.request) });
    else if (op.verb === 'complete') results.push({ verb: 'complete', effects: await completeIn(trx, ctx, op.request) });
    else results.push({ verb: 'fail', effects: await failIn(trx, ctx, op.request) });
  }
  return results;
}

/**
 * The changes a lease ending makes to a volunteer's record, as plain data in the task machine's
 * plan, and the pure rules of `reputation.ts` that apply them.
 */
import type { FailureKind } from '../protocol/events.ts';
import { afterAgreed, afterDisagreed, afterError, afterUnchecked, strikeEscalates, type QuotaLimits, type Reputation } from './reputation.ts';

/** A change to one volunteer's record (see `applyReputationChange`). */
export type ReputationChange =
  | { kind: 'agreed' }
  | { kind: 'unchecked' }
  | { kind: 'disagreed'; issuedAt: number }
  | { kind: 'error'; cause: FailureKind | 'expired'; issuedAt: number };

/** Whether a change is a strike (it dates the volunteer's cool-down). */
export function isStrikeChange(change: ReputationChange): boolean {
  return change.kind === 'disagreed' || (change.kind === 'error' && change.cause === 'expired');
}

/** A volunteer's record after `change`, given when its latest strike was (0: never). */
export function applyReputationChange(rep: Reputation, struckAt: number, change: ReputationChange, limits: QuotaLimits): Reputation {
  switch (change.kind) {
    case 'agreed':
      return afterAgreed(rep, limits);
    case 'unchecked':
      return afterUnchecked(rep, limits);
    case 'disagreed':
      return afterDisagreed(rep, limits, strikeEscalates(change.issuedAt, struckAt));
    case 'error':
      return afterError(rep, change.cause, limits, strikeEscalates(change.issuedAt, struckAt));
  }
}

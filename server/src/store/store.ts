/**
 * The coordinator's storage, in domain verbs. It never exposes connections or transactions:
 * each verb is atomic. One Kysely implementation backs it (SQLite by default, PostgreSQL later).
 *
 * Lease lifecycle (one row per attempt; a task has at most one live lease per replica):
 *
 *   task pending ──claimTasks──▶ lease active (task running, attempts + 1)
 *   lease active ──completeLease──▶ completed  (task completed, output kept; job may complete)
 *   lease active ──failLease──────▶ failed     (reason kept; task pending again, or failed
 *                                               once attempts reach maxAttempts)
 *   lease active ──expireLeases───▶ expired    (counts as a `timeout` attempt, same as failLease)
 *   lease active ──releaseSession──▶ released  (the volunteer's connection closed: task pending
 *                                               again, the attempt is not counted, the reason kept)
 *   lease active ──cancelJob──────▶ revoked    (tasks not yet terminal become cancelled)
 *
 * A lease belongs to a volunteer (who may complete or fail it, even from a later connection) and
 * to the session (connection) that claimed it, which releases it on disconnect.
 * A lease that is no longer active is fenced: completing or failing it changes nothing
 * (`stale`), except that repeating the exact call that ended it answers `duplicate`.
 */
import type { FailureKind } from '../protocol/events.ts';
import type { JobStatus, ModuleAbi, ResultLine } from '../protocol/http.ts';

export interface ModuleRecord {
  hash: string;
  abi: ModuleAbi;
  size: number;
  bytes: Uint8Array;
  createdAt: number;
}

export type ModuleMeta = Omit<ModuleRecord, 'bytes'>;

export interface SiteRecord {
  siteKey: string;
  name: string;
  origins: string[];
  createdAt: number;
}

export interface NewJob {
  id: string;
  moduleHash: string;
  title?: string | undefined;
  redundancy: number;
  quorum: number;
  deadlineMs: number;
  maxAttempts: number;
  priority: number;
  createdAt: number;
  inputs: Uint8Array[];
}

/** One task as the results endpoint reports it (output as bytes; the route encodes it). */
export interface TaskResult extends Omit<ResultLine, 'output'> {
  output?: Uint8Array;
}

export interface ClaimRequest {
  volunteerId: string;
  /** The connection that claims (one volunteer may hold several, e.g. two tabs). */
  sessionId: string;
  siteKey: string;
  slots: number;
  now: number;
  /** Modules the volunteer already holds: preferred when choosing among equal candidates. */
  cached?: readonly string[];
  /** Makes a fresh, unguessable lease id (injected so tests can replay). */
  newLeaseId: () => string;
}

/** A lease as the store records it; the scheduler turns it into a wire `Lease`. */
export interface ClaimedLease {
  leaseId: string;
  taskId: string;
  jobId: string;
  index: number;
  moduleHash: string;
  input: Uint8Array;
  deadline: number;
  deadlineMs: number;
}

export interface CompleteRequest {
  leaseId: string;
  volunteerId: string;
  output: Uint8Array;
  cpuMs: number;
  now: number;
}

export interface FailLeaseRequest {
  leaseId: string;
  volunteerId: string;
  kind: FailureKind;
  message: string;
  now: number;
}

/** `accepted`/`recorded`: this call took effect; `duplicate`: a repeat of the call that did; `stale`: fenced. */
export type CompleteOutcome = 'accepted' | 'duplicate' | 'stale';
export type FailOutcome = 'recorded' | 'duplicate' | 'stale';

/** A lease taken back from a volunteer, so the volunteer can be told to drop it. */
export interface EndedLease {
  leaseId: string;
  volunteerId: string;
  sessionId: string;
}

export interface Store {
  saveModule(module: ModuleRecord): Promise<{ created: boolean }>;
  getModule(hash: string): Promise<ModuleRecord | undefined>;
  getModuleMeta(hash: string): Promise<ModuleMeta | undefined>;

  createSite(site: SiteRecord): Promise<void>;
  getSite(siteKey: string): Promise<SiteRecord | undefined>;

  /** Creates the job and one pending task per input, atomically. The module must exist. */
  createJob(job: NewJob): Promise<void>;
  getJob(id: string): Promise<JobStatus | undefined>;
  /** Tasks of a job in input order, `limit` at a time from `fromIndex` (for streaming). */
  listResults(jobId: string, fromIndex: number, limit: number): Promise<TaskResult[]>;
  /** Cancels every non-terminal task and revokes live leases. `undefined` when no such job. */
  cancelJob(id: string, now: number): Promise<{ revoked: EndedLease[] } | undefined>;

  /** Atomically leases up to `slots` pending tasks of active jobs to one volunteer. */
  claimTasks(request: ClaimRequest): Promise<ClaimedLease[]>;
  completeLease(request: CompleteRequest): Promise<CompleteOutcome>;
  failLease(request: FailLeaseRequest): Promise<FailOutcome>;
  /** Releases every live lease claimed by one connection at once (it disconnected). */
  releaseSession(sessionId: string, now: number): Promise<EndedLease[]>;
  /** Ends every live lease whose deadline is before `cutoff` as a `timeout` attempt. */
  expireLeases(cutoff: number, now: number): Promise<EndedLease[]>;

  close(): Promise<void>;
}

/**
 * The coordinator's storage, in domain verbs. It never exposes connections or transactions:
 * each verb is atomic. One Kysely implementation backs it (SQLite by default, PostgreSQL later).
 * The decisions inside the verbs (which jobs a claim serves, quorum, reputation, quotas) are the
 * pure functions of `scheduler/`; the store applies them in the transaction that reads their input.
 *
 * Lease lifecycle (one row per replica attempt):
 *
 *   task pending ──claimTasks──▶ lease active   (one replica; a task has at most `wanted` replicas
 *                                                 live or answered, each on a different volunteer)
 *   lease active ──completeLease──▶ completed   (a result; accepted at once when the task needs one
 *                                                 agreeing result, else kept until a quorum agrees)
 *   lease active ──failLease──────▶ failed      (a counted attempt: reason kept; the task is open
 *                                                 again, or failed once failures reach maxAttempts
 *                                                 from independent sources: `scheduler/task-evidence.ts`)
 *   lease active ──expireLeases───▶ expired     (a counted `timeout` attempt, same as failLease)
 *   lease active ──releaseSession──▶ released   (the volunteer's connection closed: not counted,
 *                                                 but a task released too often fails)
 *                └─releaseSession──▶ failed     (the second distinct volunteer in a row vanishing
 *                                                 with the task: a counted attempt of kind `crash`)
 *   lease active ──task ended / cancelJob──▶ revoked (another replica settled the task, or the job
 *                                                 was cancelled; the volunteer is told to drop it)
 *
 * A lease belongs to a volunteer (who may complete or fail it, even from a later connection) and
 * to the session (connection) that claimed it, which releases it on disconnect; a reconnecting
 * volunteer adopts its leases into its new session (`adoptLeases`).
 * A lease that is no longer active is fenced: completing or failing it changes nothing
 * (`stale`), except that repeating the exact call that ended it answers `duplicate`.
 * On SQLite the row of a lease on a fresh task at r = 1 is written when it ends, or before any
 * verb that reads leases (`granted-leases.ts`); a SIGKILL loses such leases not written yet, and
 * the next start sends their tasks back to pending, uncounted (their results are then `stale`).
 */
import type { FailureKind } from '../protocol/events.ts';
import type { JobState, JobStatus, KeyInfo, KeyRole, ModuleAbi, ResultLine, SiteSettings, SiteSettingsInput } from '../protocol/http.ts';
import type { ClaimEmpty } from '../scheduler/claim-plan.ts';
import type { ClaimedLease, EndedLease } from '../scheduler/leases.ts';
import type { Reputation } from '../scheduler/reputation.ts';

export type { ClaimEmpty, ClaimedLease, EndedLease };

/**
 * Why leases are taken back unanswered: `vanished`, the volunteer's connection dropped without a
 * goodbye (a closed tab, a crash, a lost network: it may count towards a crash streak); `ended`,
 * the connection was closed on purpose (the volunteer's own disconnect, the coordinator shutting
 * down) or died with a previous coordinator process (never counted, and no evidence either way).
 */
export type ReleaseCause = 'vanished' | 'ended';

export interface ModuleRecord {
  hash: string;
  abi: ModuleAbi;
  size: number;
  bytes: Uint8Array;
  createdAt: number;
}

/** A module as one owner sees it (`createdAt`: when that owner uploaded it, when asked per owner). */
export type ModuleMeta = Omit<ModuleRecord, 'bytes'>;

export interface SiteRecord {
  siteKey: string;
  name: string;
  origins: string[];
  createdAt: number;
  /** Every setting, defaults filled in. */
  settings: SiteSettings;
  /** Whose site it is: a site key's id, or `operator`. */
  owner: string;
}

/** A site to register: settings as given (the rest default); owner `operator` when absent. */
export interface NewSite extends Omit<SiteRecord, 'settings' | 'owner'> {
  settings?: SiteSettingsInput | undefined;
  owner?: string | undefined;
}

/** A key the operator made, as the store keeps it: the secret's SHA-256 (hex), never the secret. */
export interface NewKey {
  id: string;
  role: KeyRole;
  name: string;
  secretHash: string;
  createdAt: number;
}

export type KeyRecord = KeyInfo;

/** What `updateSite` changes: a given field replaces that field; `settings` field by field. */
export interface SiteChange {
  name?: string | undefined;
  origins?: string[] | undefined;
  settings?: SiteSettingsInput | undefined;
}

/** A job's settings, without its inputs. */
export interface NewJobOptions {
  id: string;
  moduleHash: string;
  title?: string | undefined;
  /** What the work is for, shown to the volunteers who compute it. */
  purpose?: string | undefined;
  redundancy: number;
  quorum: number;
  /** Whether trusted volunteers may get this job's tasks as single replicas (default true). */
  adaptiveReplication?: boolean;
  deadlineMs: number;
  maxAttempts: number;
  priority: number;
  createdAt: number;
  /** The site whose page asked for the job through its `run()` API (absent for ordinary jobs). */
  siteKey?: string | undefined;
  /**
   * Whose job it is: an author key's id, or for a `run()` job its site's owner. Absent: the
   * operator's (a caller that forgets it makes a job no author can see: it fails closed).
   */
  owner?: string | undefined;
  /** Takes more inputs until closed (default false); an open job is never completed. */
  open?: boolean | undefined;
}

export interface NewJob extends NewJobOptions {
  inputs: Uint8Array[];
}

/** A job's state, whether it takes more inputs, and whose it is. */
export interface JobBrief {
  state: JobState;
  open: boolean;
  owner: string;
}

/** Which jobs `listJobs` returns: newest first, at most `limit`. */
export interface JobQuery {
  state?: JobState | undefined;
  /** Only this owner's jobs (absent: everyone's, for the operator). */
  owner?: string | undefined;
  limit: number;
}

/** A settled task with its place in the job's completion order. */
export interface SettledResult extends TaskResult {
  seq: number;
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
  /** The volunteer's normalised address (`socket/address.ts`), kept on its leases; unknown when absent. */
  address?: string | undefined;
  slots: number;
  now: number;
  /** Modules the volunteer already holds: preferred when fairness allows (locality). */
  cached?: readonly string[];
  /** Workers the session runs, when it said: bounds its prefetch. */
  workers?: number | undefined;
  /** Makes a fresh, unguessable lease id (injected so tests can replay). */
  newLeaseId: () => string;
  /** A uniform draw in [0, 1) for adaptive replication's spot checks (injected so tests can replay). */
  random: () => number;
}

/** What a claim got: its leases, and when there are none, why (so nobody re-reads to find out). */
export interface ClaimOutcome {
  leases: ClaimedLease[];
  empty?: ClaimEmpty;
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

/** What answering a lease did, beyond the outcome itself. */
export interface AnswerEffects<Outcome> {
  outcome: Outcome;
  /** The lease's job (absent when the lease is unknown or another volunteer's). */
  jobId?: string;
  /** Other replicas of the task that are no longer needed (their task settled). */
  revoked: EndedLease[];
  /** The task now wants another replica: idle volunteers may be told there is work. */
  reopened: boolean;
}

/** One hot-path operation of a batch (`answerBatch`): what the single verb of that name takes. */
export type BatchOp =
  | { verb: 'claim'; request: ClaimRequest }
  | { verb: 'complete'; request: CompleteRequest }
  | { verb: 'fail'; request: FailLeaseRequest };

/** What the single verb would have returned for the operation at the same place in the batch. */
export type BatchResult =
  | { verb: 'claim'; outcome: ClaimOutcome }
  | { verb: 'complete'; effects: AnswerEffects<CompleteOutcome> }
  | { verb: 'fail'; effects: AnswerEffects<FailOutcome> };

/** A volunteer's record (see `scheduler/reputation.ts`) and when it was first and last seen. */
export interface VolunteerRecord extends Reputation {
  id: string;
  /** When its latest strike was (0: never). */
  struckAt: number;
  firstSeen: number;
  lastSeen: number;
}

export interface Store {
  /**
   * Keeps a module's bytes (once per hash) and records `owner` (default `operator`) as one of its
   * uploaders. `created` is true when this owner did not own it before.
   */
  saveModule(module: ModuleRecord, owner?: string): Promise<{ created: boolean }>;
  /** A module's bytes, whoever uploaded it (volunteers fetch modules by hash). */
  getModule(hash: string): Promise<ModuleRecord | undefined>;
  /** A module's metadata; with `owner`, only when that owner uploaded it (and as they did). */
  getModuleMeta(hash: string, owner?: string): Promise<ModuleMeta | undefined>;

  /** Records a new key; a taken id or secret hash is a `conflict`. */
  createKey(key: NewKey): Promise<KeyRecord>;
  /** The key whose secret hashes to `secretHash` (revoked or not). */
  findKeyByHash(secretHash: string): Promise<KeyRecord | undefined>;
  /** Every key, oldest first. */
  listKeys(): Promise<KeyRecord[]>;
  /** Revokes a key at `now` (a revoked key keeps its first `revokedAt`). `undefined` when no such key. */
  revokeKey(id: string, now: number): Promise<KeyRecord | undefined>;

  /**
   * Registers a site. Its settings must keep the rules of `sites/settings.ts` and name only
   * uploaded run modules (else `bad_request`); a taken key is a `conflict`.
   */
  createSite(site: NewSite): Promise<SiteRecord>;
  /** A site with every setting (defaults filled in). */
  getSite(siteKey: string): Promise<SiteRecord | undefined>;
  /**
   * Changes a site atomically: the given fields replace the current ones, settings merged field by
   * field and then held to the same rules as `createSite`. `undefined` when no such site.
   */
  updateSite(siteKey: string, change: SiteChange): Promise<SiteRecord | undefined>;

  /** Creates the job and one pending task per input, atomically. The module must exist. */
  createJob(job: NewJob): Promise<void>;
  getJob(id: string): Promise<JobStatus | undefined>;
  /** How many jobs of `owner` are still active (not completed, not cancelled). */
  countActiveJobs(owner: string): Promise<number>;
  /** A job's state and whether it is open, without counting its tasks (cheap at any size). */
  getJobState(id: string): Promise<JobBrief | undefined>;
  /** Tasks of a job in input order, `limit` at a time from `fromIndex` (for streaming). */
  listResults(jobId: string, fromIndex: number, limit: number): Promise<TaskResult[]>;
  /** Cancels every non-terminal task and revokes live leases. `undefined` when no such job. */
  cancelJob(id: string, now: number): Promise<{ revoked: EndedLease[] } | undefined>;
  /** Jobs newest first (`created_at`, then id), optionally in one state. */
  listJobs(query: JobQuery): Promise<JobStatus[]>;
  /** Settled tasks (completed or failed) of a job in the order they settled, after `afterSeq`. */
  listSettled(jobId: string, afterSeq: number, limit: number): Promise<SettledResult[]>;

  /*
   * Streamed inputs. A request's inputs are inserted in batches (one transaction each, so a slow
   * producer never holds the database), past the job's existing tasks, where nobody sees them;
   * `commitInputs` makes them exist at once, `discardInputs` deletes them. One request at a time
   * per job: the caller serialises requests to the same job.
   */
  /**
   * Creates a job whose inputs will stream in. It exists for nobody (`getJob` → undefined) until
   * `commitInputs`. The module must exist (`module_not_found`); a taken id is a `conflict`.
   */
  createStagedJob(job: NewJobOptions): Promise<void>;
  /**
   * Starts a request that adds inputs to an open job: deletes what an earlier request that failed
   * (or died with the process) left, and returns the job's task count, the first index to stage.
   * `job_not_found`; a closed or ended job is a `conflict`.
   */
  beginInputs(jobId: string): Promise<number>;
  /** Inserts inputs as tasks `fromIndex`, `fromIndex + 1`, … (not yet existing), in one transaction. */
  stageInputs(jobId: string, fromIndex: number, inputs: readonly Uint8Array[], now: number): Promise<void>;
  /**
   * The request succeeded: the tasks below `total` exist. A staged job becomes active (completed at
   * once when it is closed and empty). A job cancelled meanwhile is a `conflict` (its staged inputs stay to be discarded).
   */
  commitInputs(jobId: string, total: number, now: number): Promise<void>;
  /** The request failed: its staged tasks are deleted, and a staged job with them. */
  discardInputs(jobId: string): Promise<void>;
  /**
   * Closes an open job (no more inputs); it completes once its tasks are settled. Closing a closed
   * job changes nothing. False when there is no such job.
   */
  closeJob(jobId: string, now: number): Promise<boolean>;
  /**
   * After a restart, before taking requests: deletes the inputs of requests that died with the
   * previous process (and the jobs they were creating). Returns how many jobs it cleaned.
   */
  discardAbandonedInputs(): Promise<number>;

  /**
   * Atomically leases up to `slots` replicas of open tasks of active jobs to one volunteer, shared
   * fairly among the jobs, within the volunteer's quota and the session's prefetch bound. A lease
   * queued behind the session's running ones gets its deadline counted from when a worker is sure
   * to be free (`scheduler/claim-plan.ts`). No leases: `empty` says why (cool-down with when to
   * ask again, quota, no work).
   */
  claimTasks(request: ClaimRequest): Promise<ClaimOutcome>;
  completeLease(request: CompleteRequest): Promise<AnswerEffects<CompleteOutcome>>;
  failLease(request: FailLeaseRequest): Promise<AnswerEffects<FailOutcome>>;
  /**
   * Group commit: runs claims, results and failures in one transaction and commits once. Each is
   * answered exactly as its single verb would be in one serial order of the batch: each
   * volunteer's operations keep their order; operations of different volunteers, which arrived
   * concurrently, may run in another (lone results go first, together: `lone-results.ts`). All or
   * nothing: when one throws, none took effect and the call rejects (the caller may retry them one
   * by one). Meant for a single writer (SQLite's group commit): it does not order its row locks
   * against other transactions running batches at once.
   */
  answerBatch(ops: readonly BatchOp[]): Promise<BatchResult[]>;
  /**
   * Releases every live lease claimed by one connection at once (it closed; `cause` says how,
   * default `vanished`). A vanishing that continues a streak of distinct volunteers vanishing
   * with the task counts as a failed attempt of kind `crash`; nothing else counts. Returns the
   * leases, plus other volunteers' replicas revoked because a release failed their task.
   */
  releaseSession(sessionId: string, now: number, cause?: ReleaseCause): Promise<EndedLease[]>;
  /**
   * Moves the volunteer's live leases to its new session, except those of `keepSessions` (its
   * other connections that are still up). Returns the ids of the leases that moved: the new
   * connection holds those, and no other lease its volunteer may still be running.
   */
  adoptLeases(volunteerId: string, sessionId: string, keepSessions: readonly string[]): Promise<string[]>;
  /** Sessions that hold live leases (after a restart: the connections that died with the process). */
  sessionsWithLeases(): Promise<string[]>;
  /**
   * Moves the deadline of the live leases of these sessions to `until` where it is earlier (after
   * a restart: their volunteers could not answer while the coordinator was down). Returns the ids
   * of the leases it moved.
   */
  deferDeadlines(sessionIds: readonly string[], until: number): Promise<string[]>;
  /**
   * Releases these leases where they are still live, with cause `ended` (never counted). Returns
   * them, plus other volunteers' replicas revoked because a release failed their task.
   */
  releaseLeases(leaseIds: readonly string[], now: number): Promise<EndedLease[]>;
  /** One volunteer's record; `undefined` when it never claimed anything. */
  getVolunteer(id: string): Promise<VolunteerRecord | undefined>;
  /**
   * Ends every live lease whose deadline is before `cutoff` as a `timeout` attempt. Returns them,
   * plus replicas revoked because an expiry failed their task.
   */
  expireLeases(cutoff: number, now: number): Promise<EndedLease[]>;

  close(): Promise<void>;
}

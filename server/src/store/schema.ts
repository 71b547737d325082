/**
 * The database schema as Kysely sees it: one interface per table, snake_case columns.
 * Times are epoch milliseconds (BIGINT); JSON lives in TEXT so every dialect stores it alike.
 * Readers coerce numbers with `Number()` because PostgreSQL drivers return BIGINT as strings.
 */

/** Content-addressed wasm modules. */
export interface ModulesTable {
  hash: string;
  abi: string;
  size: number;
  bytes: Uint8Array;
  created_at: number;
}

/**
 * Registered sites; `origins` is a JSON array of origins, `settings` a JSON object of
 * `SiteSettings` (fields missing from it read as their defaults).
 */
export interface SitesTable {
  site_key: string;
  name: string;
  origins: string;
  created_at: number;
  settings: string;
  /** Whose site it is: a site key's id, or `operator`. */
  owner: string;
}

/**
 * Jobs: `state` is `staging` (created by a streamed request still arriving: it exists for nobody
 * yet) | `active` | `completed` | `cancelled`.
 */
export interface JobsTable {
  id: string;
  module_hash: string;
  title: string | null;
  /** What the work is for, shown to volunteers. */
  purpose: string | null;
  state: string;
  redundancy: number;
  quorum: number;
  /** 1: trusted volunteers may get single replicas (adaptive replication); 0: never. */
  adaptive: number;
  deadline_ms: number;
  max_attempts: number;
  priority: number;
  created_at: number;
  finished_at: number | null;
  /** The site whose page asked for this job through its `run()` API; null for ordinary jobs. */
  site_key: string | null;
  /** Whose job it is: an author key's id, `operator`, or a site's owner for `run()` jobs. */
  owner: string;
  /** 1 while the job takes more inputs: never completed until closed (0). */
  open: number;
  /**
   * Tasks that exist: those with `idx < task_count`. A streamed request inserts its tasks past it
   * and moves it when it succeeds; a failed request's tasks are deleted.
   */
  task_count: number;
  /** Tasks settled so far (completed or failed): the last `settled_seq` given. */
  settled_count: number;
}

/**
 * One row per input. `state` is `pending` | `running` | `completed` | `failed` | `cancelled`;
 * `errors` is a JSON array of `TaskError` (NULL while empty, which most tasks stay).
 */
export interface TasksTable {
  job_id: string;
  idx: number;
  input: Uint8Array;
  state: string;
  attempts: number;
  output: Uint8Array | null;
  errors: string | null;
  updated_at: number;
  /** Live leases (replicas being computed). */
  live: number;
  /** Replica results collected and not yet judged away (completed leases). */
  results: number;
  /** Replicas the task wants in all: results plus live leases plus ones still to issue. */
  wanted: number;
  /** Agreeing results from distinct volunteers needed to accept (1: the first result). */
  needed: number;
  /** Counted failed attempts (reported failures and expiries). */
  failures: number;
  /** Leases taken back because their volunteer disconnected (not counted as attempts). */
  releases: number;
  /** The task's place in its job's completion order (1, 2, …) once completed or failed; else NULL. */
  settled_seq: number | null;
}

/**
 * One row per attempt (per replica, once redundancy arrives). `state` is `active` | `completed` |
 * `failed` | `expired` | `released` | `revoked`. `cpu_ms`, `site_key` and `volunteer_id` feed the
 * accounting ledger; `output_hash` lets replicas be compared and repeats be recognised.
 */
export interface LeasesTable {
  id: string;
  job_id: string;
  task_idx: number;
  volunteer_id: string;
  session_id: string;
  site_key: string;
  state: string;
  issued_at: number;
  deadline: number;
  ended_at: number | null;
  cpu_ms: number | null;
  output_hash: string | null;
  error_kind: string | null;
  error_message: string | null;
  /** A replica's output while its task waits for a quorum (cleared once judged). */
  output: Uint8Array | null;
  /** `valid` | `invalid` (compared with the accepted output) | `unchecked` (accepted alone) | NULL. */
  verdict: string | null;
  /** The volunteer's normalised address when leased (`socket/address.ts`); NULL when unknown. */
  address: string | null;
}

/** One record per volunteer id: see `scheduler/reputation.ts`. */
export interface VolunteersTable {
  id: string;
  consecutive_valid: number;
  valid: number;
  invalid: number;
  unchecked: number;
  errors: number;
  quota: number;
  /** Disagreements and expired leases in a row, and when the latest was (epoch ms, 0: never). */
  strikes: number;
  struck_at: number;
  first_seen: number;
  last_seen: number;
}

/** Who uploaded a module: one row per module and owner (each uploader owns their upload). */
export interface ModuleOwnersTable {
  hash: string;
  owner: string;
  /** When this owner first uploaded it. */
  created_at: number;
}

/**
 * Keys the operator made for task authors and site owners. `role` is `author` | `site`; only the
 * SHA-256 (hex) of the secret is kept; `revoked_at` is set once, when the key is revoked.
 */
export interface ApiKeysTable {
  id: string;
  role: string;
  name: string;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}

/** Every table the store uses. */
export interface Database {
  modules: ModulesTable;
  sites: SitesTable;
  jobs: JobsTable;
  tasks: TasksTable;
  leases: LeasesTable;
  volunteers: VolunteersTable;
  module_owners: ModuleOwnersTable;
  api_keys: ApiKeysTable;
}

/** The SDK's data types: the REST API's shapes (declared once in the coordinator's protocol). */
import type { JobStatus, ModuleInfo, SiteInfo, TaskError, TaskState } from '../../../server/src/protocol/http.ts';

export type { JobStatus, ModuleInfo, SiteInfo, TaskError, TaskState };

/** A job's settings (everything but its module and inputs); the coordinator fills in the rest. */
export interface JobOptions {
  title?: string;
  /** What the work is for, shown to the volunteers who compute it. */
  purpose?: string;
  redundancy?: number;
  quorum?: number;
  priority?: number;
  /** Per-task deadline in ms. */
  deadlineMs?: number;
  maxAttempts?: number;
  adaptiveReplication?: boolean;
}

/** One task's result as the results stream sends it. */
export interface JobResult {
  index: number;
  state: TaskState;
  output?: Uint8Array;
  /** The output as text, when asked for with `text: true` and it is valid UTF-8. */
  text?: string;
  errors?: TaskError[];
  /** The NDJSON line exactly as received. */
  line: string;
}

export interface ResultsOptions {
  /** `input` (default): every task in input order; `completion`: settled tasks as they settled. */
  order?: 'input' | 'completion';
  /** Keep the stream open until the job ends, receiving each result as it is accepted. */
  follow?: boolean;
  /** Add `text` beside `output` when the output is valid UTF-8. */
  text?: boolean;
  signal?: AbortSignal;
}

export interface ProgressOptions {
  /** Time between status requests (default 1000 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

export type KeyRole = 'author' | 'site';

/** A key as the operator lists it (never its secret). */
export interface KeyInfo {
  id: string;
  role: KeyRole;
  name: string;
  createdAt: number;
  revokedAt: number | null;
}

/** A key just created: the only time its secret is shown. */
export interface CreatedKey extends KeyInfo {
  secret: string;
}

/** The grid right now. */
export interface GridInfo {
  volunteersOnline: number;
}

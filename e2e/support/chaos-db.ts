/**
 * Reads a coordinator's SQLite file directly, read-only, for what the REST API does not show:
 * every lease a job ever had, whose it was and how it ended. Open it while the coordinator runs
 * (a read-only connection reads the WAL through the live shared-memory file).
 */
import Database from 'better-sqlite3';

/** One lease row, as the chaos cases look at it. */
export interface LeaseRecord {
  id: string;
  taskIdx: number;
  volunteerId: string;
  sessionId: string;
  state: string;
  verdict: string | null;
  errorKind: string | null;
  issuedAt: number;
  endedAt: number | null;
  cpuMs: number | null;
}

/** Every lease of `jobId`, in the order they were issued. */
export function readJobLeases(dbFile: string, jobId: string): LeaseRecord[] {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        `select id, task_idx as taskIdx, volunteer_id as volunteerId, session_id as sessionId, state, verdict,
                error_kind as errorKind, issued_at as issuedAt, ended_at as endedAt, cpu_ms as cpuMs
           from leases where job_id = ? order by issued_at, id`,
      )
      .all(jobId) as LeaseRecord[];
  } finally {
    db.close();
  }
}

/** Counts of `leases` per task index that satisfy `keep`. */
export function countByTask(leases: LeaseRecord[], keep: (lease: LeaseRecord) => boolean): Map<number, number> {
  const counts = new Map<number, number>();
  for (const lease of leases) if (keep(lease)) counts.set(lease.taskIdx, (counts.get(lease.taskIdx) ?? 0) + 1);
  return counts;
}

/**
 * The least CPU the coordinator's schema lets a result cost in SQLite, for `npm run bench`: the
 * rows and indexes the store writes for a claimed and answered task at r = 1, written with raw
 * better-sqlite3 statements, one row each, with none of the coordinator's logic (no
 * validation, fencing, quorum or reputation) and no socket. Claims of 8, a commit per 200 results,
 * as group commit does under load. Measured twice: with the lease rows the store keeps (a lease
 * inserted at the claim and ended at the result), and without them (only the task rows), the
 * floor of a design that would hold live leases in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createFloorDatabase } from './floor-database.ts';
import { median, round } from './common.ts';
import type { Figure } from './report.ts';

const TASKS = 60_000;
const MEASURED = 50_000;
const CLAIM = 8;
const CLAIMS_PER_COMMIT = 25;

/** CPU microseconds per result, over `MEASURED` results on a fresh database. */
async function floorOnce(leaseRows: boolean): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sparecycles-floor-'));
  try {
    const file = join(dir, 'db.sqlite');
    await createFloorDatabase(
      file,
      'job-floor',
      Array.from({ length: TASKS }, (_, i) => Uint8Array.of(i & 255, i >> 8)),
    );

    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      const pick = db.prepare(`select idx from tasks where job_id = ? and state = 'pending' order by idx limit ${CLAIM}`);
      const leaseTask = db.prepare(`update tasks set state = 'running', live = live + 1, attempts = attempts + 1, updated_at = ? where job_id = ? and idx = ?`);
      const insertLease = db.prepare(
        `insert into leases (id, job_id, task_idx, volunteer_id, session_id, site_key, state, issued_at, deadline, address) values (?, ?, ?, 'volunteer', 'session', 'site', 'active', ?, ?, '127.0.0.1')`,
      );
      const endLease = db.prepare(`update leases set state = 'completed', ended_at = ?, cpu_ms = 1, output_hash = ?, verdict = 'unchecked' where id = ?`);
      const endTask = db.prepare(`update tasks set state = 'completed', live = 0, updated_at = ?, results = 1, output = ?, settled_seq = ? where job_id = ? and idx = ?`);
      const output = Buffer.from([1, 2, 3, 4]);
      const outputHash = 'f'.repeat(64);
      let results = 0;
      let lease = 0;
      const commitOfClaims = db.transaction(() => {
        for (let claim = 0; claim < CLAIMS_PER_COMMIT; claim++) {
          const now = Date.now();
          const claimed = (pick.all('job-floor') as { idx: number }[]).map(({ idx }) => {
            leaseTask.run(now, 'job-floor', idx);
            const id = `${now.toString(36)}-${++lease}`;
            if (leaseRows) insertLease.run(id, 'job-floor', idx, now, now + 60_000);
            return { id, idx };
          });
          for (const { id, idx } of claimed) {
            if (leaseRows) endLease.run(now, outputHash, id);
            endTask.run(now, output, ++results, 'job-floor', idx);
          }
        }
      });
      const before = process.cpuUsage();
      while (results < MEASURED) commitOfClaims();
      const cpu = process.cpuUsage(before);
      return (cpu.user + cpu.system) / results;
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function writeFloor(rounds = 3): Promise<Figure> {
  const withLeases: number[] = [];
  const withoutLeases: number[] = [];
  for (let i = 0; i < rounds; i++) {
    withLeases.push(await floorOnce(true));
    withoutLeases.push(await floorOnce(false));
  }
  return {
    name: 'sqlite-write-floor',
    unit: 'µs of CPU per result (median), SQLite writes alone',
    value: round(median(withLeases), 1),
    detail: {
      rounds,
      results: MEASURED,
      claim: CLAIM,
      resultsPerCommit: CLAIM * CLAIMS_PER_COMMIT,
      withoutLeaseRowsUs: round(median(withoutLeases), 1),
    },
  };
}
